//! What the bindings contain, as a plain list: every field of every struct and union, and
//! every constant. Dependents' build scripts compare it with what they handle (the
//! restorer's ABI guard), so that a tree passing something new is refused by name.
//!
//! Read from bindgen's prettyplease output: a type is `pub struct NAME {` or
//! `pub union NAME {` at column 0, its fields `pub NAME: TYPE` at four spaces. bindgen's
//! own members are not CRIU's fields: padding (`__bindgen_padding_N`) and bitfield
//! alignment (`_bitfield_align_N`) are left out, a bitfield unit (`_bitfield_N`) stands
//! for the bitfields whose setters (`set_NAME`) its type's `impl` has, and an anonymous
//! member (`__bindgen_anon_N`) for the fields of its type, as C names them.

/// One line of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Item {
    /// `struct.field` (or a union's).
    Field(String, String),
    /// A constant (`#define` or enumerator), by name.
    Const(String),
}

impl Item {
    /// `field STRUCT NAME` or `const NAME`.
    pub fn line(&self) -> String {
        match self {
            Item::Field(s, f) => format!("field {s} {f}"),
            Item::Const(c) => format!("const {c}"),
        }
    }
}

/// Every struct's and union's fields and every constant in `bindings`.
pub fn items(bindings: &str) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    for name in type_names(bindings) {
        for f in fields(bindings, &name, 0) {
            items.push(Item::Field(name.clone(), f));
        }
    }
    items.extend(bindings.lines().filter_map(|l| {
        let rest = l.strip_prefix("pub const ")?;
        Some(Item::Const(rest.split_once(':')?.0.trim().to_string()))
    }));
    items.sort();
    items.dedup();
    items
}

/// The inventory as text, one [`Item::line`] a line.
pub fn render(items: &[Item]) -> String {
    items.iter().map(|i| i.line() + "\n").collect()
}

/// The names of the structs and unions the bindings declare.
fn type_names(bindings: &str) -> Vec<String> {
    bindings
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("pub struct ").or_else(|| l.strip_prefix("pub union "))?;
            let name = rest.strip_suffix(" {")?;
            // Generic helpers (`__BindgenBitfieldUnit<Storage>`) are bindgen's, not CRIU's.
            (!name.contains('<')).then(|| name.to_string())
        })
        .collect()
}

/// The C-visible fields of type `name`, anonymous members expanded (`depth` bounds the
/// recursion should a type ever name itself).
fn fields(bindings: &str, name: &str, depth: u32) -> Vec<String> {
    let mut out = Vec::new();
    for (field, ty) in members(bindings, name) {
        if field.starts_with("__bindgen_padding") || field.starts_with("_bitfield_align_") {
            continue;
        } else if field.starts_with("_bitfield_") {
            out.extend(bitfields(bindings, name));
        } else if field.starts_with("__bindgen_anon_") && depth < 8 {
            out.extend(fields(bindings, &ty, depth + 1));
        } else {
            out.push(field);
        }
    }
    out.dedup();
    out
}

/// `(name, type)` of each member line of `pub struct name {` / `pub union name {`.
fn members(bindings: &str, name: &str) -> Vec<(String, String)> {
    let heads = [format!("pub struct {name} {{"), format!("pub union {name} {{")];
    let mut lines = bindings.lines().skip_while(|l| !heads.iter().any(|h| l == h));
    if lines.next().is_none() {
        return Vec::new();
    }
    lines
        .take_while(|l| *l != "}")
        .filter_map(|l| {
            let rest = l.strip_prefix("    pub ")?;
            let (field, ty) = rest.split_once(':')?;
            Some((field.trim().to_string(), ty.trim().trim_end_matches(',').to_string()))
        })
        .collect()
}

/// The bitfields of `name`: the setters bindgen writes for each in `impl name {`.
fn bitfields(bindings: &str, name: &str) -> Vec<String> {
    let head = format!("impl {name} {{");
    bindings
        .lines()
        .skip_while(|l| *l != head)
        .skip(1)
        .take_while(|l| *l != "}")
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub fn set_")?;
            Some(rest.split_once('(')?.0.to_string())
        })
        .collect()
}
