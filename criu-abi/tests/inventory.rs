//! The build script's inventory of the bindings (every field and constant, for the
//! restorer's ABI guard), on bindgen's own output: bitfields, anonymous members and
//! padding are read as C names them.

#[allow(dead_code)]
#[path = "../build/inventory.rs"]
mod inventory;

use inventory::Item;

/// bindgen 0.72's output (prettyplease, bodies cut) for
/// `struct with_bits { int a; unsigned compressed:1, lz4:2; union { long x; void *y; };
/// struct { int p, q; }; char c; long l; } __attribute__((aligned(64)));` and a define,
/// plus a packed struct's padding.
const BINDGEN: &str = "\
pub struct __BindgenBitfieldUnit<Storage> {
    storage: Storage,
}
pub const VMA_AREA_X: u32 = 8;
#[repr(C)]
#[repr(align(64))]
#[derive(Copy, Clone)]
pub struct with_bits {
    pub a: ::core::ffi::c_int,
    pub _bitfield_align_1: [u8; 0],
    pub _bitfield_1: __BindgenBitfieldUnit<[u8; 1usize]>,
    pub __bindgen_anon_1: with_bits__bindgen_ty_1,
    pub __bindgen_anon_2: with_bits__bindgen_ty_2,
    pub c: ::core::ffi::c_char,
    pub l: ::core::ffi::c_long,
    pub cb: ::core::option::Option<
        unsafe extern \"C\" fn(arg: ::core::ffi::c_int) -> ::core::ffi::c_int,
    >,
}
#[repr(C)]
#[derive(Copy, Clone)]
pub union with_bits__bindgen_ty_1 {
    pub x: ::core::ffi::c_long,
    pub y: *mut ::core::ffi::c_void,
}
impl Default for with_bits__bindgen_ty_1 {
    fn default() -> Self {
    }
}
#[repr(C)]
#[derive(Debug, Default, Copy, Clone)]
pub struct with_bits__bindgen_ty_2 {
    pub p: ::core::ffi::c_int,
    pub q: ::core::ffi::c_int,
}
impl with_bits {
    #[inline]
    pub fn compressed(&self) -> ::core::ffi::c_uint {
    }
    #[inline]
    pub fn set_compressed(&mut self, val: ::core::ffi::c_uint) {
    }
    #[inline]
    pub unsafe fn set_compressed_raw(this: *mut Self, val: ::core::ffi::c_uint) {
    }
    #[inline]
    pub fn set_lz4(&mut self, val: ::core::ffi::c_uint) {
    }
    #[inline]
    pub fn new_bitfield_1(
    ) -> __BindgenBitfieldUnit<[u8; 1usize]> {
    }
}
#[repr(C, packed(4))]
pub struct packed {
    pub a: u8,
    pub __bindgen_padding_0: [u8; 3usize],
}
";

fn fields_of<'a>(items: &'a [Item], s: &str) -> Vec<&'a str> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Field(t, f) if t == s => Some(f.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn fields_are_named_as_c_names_them() {
    let items = inventory::items(BINDGEN);
    let mut got = fields_of(&items, "with_bits");
    got.sort();
    // Bitfields by their names, anonymous members' fields as the struct's own, no
    // bindgen-made members; a field whose type spans lines once.
    assert_eq!(got, ["a", "c", "cb", "compressed", "l", "lz4", "p", "q", "x", "y"]);
    assert_eq!(fields_of(&items, "packed"), ["a"]);
    assert!(fields_of(&items, "__BindgenBitfieldUnit<Storage>").is_empty());
    assert!(items.contains(&Item::Const("VMA_AREA_X".into())));
}

#[test]
fn the_inventory_is_one_line_an_item() {
    let text = inventory::render(&[
        Item::Field("task_restore_args".into(), "uffd".into()),
        Item::Const("VMA_AREA_GUARD".into()),
    ]);
    assert_eq!(text, "field task_restore_args uffd\nconst VMA_AREA_GUARD\n");
}

/// What the build wrote for its own tree is the inventory of its bindings, and it has
/// the restorer's structures and VMA constants.
#[test]
fn the_crate_inventory_is_that_of_its_bindings() {
    let bindings = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/restorer.rs")).unwrap();
    let written = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/inventory.txt")).unwrap();
    assert_eq!(written, inventory::render(&inventory::items(&bindings)));
    for line in [
        "field task_restore_args vma_ios",
        "field thread_restore_args mz",
        "field restore_vma_io nr_iovs",
        "field VmaEntry status",
        "const VMA_AREA_REGULAR",
    ] {
        assert!(written.lines().any(|l| l == line), "{line}");
    }
}
