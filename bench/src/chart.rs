//! The table as a PNG bar chart: one panel per size and cache state, a bar of GB/s per
//! variant, ours, upstream's and the limits in their own colours.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::report::gbps;
use crate::run::{Figure, Results, Variant};
use page_engine::abi::Strategy;

/// Where DejaVu Sans lies on the distributions the project runs on (Debian's
/// fonts-dejavu-core first; scripts/setup installs it).
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

const FAMILY: &str = "sans-serif";
const ROW: u32 = 26;
const WIDTH: u32 = 1100;

/// Register the font the chart's text is drawn with (once a process).
fn font() -> Result<(), String> {
    use std::sync::OnceLock;
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let bytes = FONTS
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .ok_or_else(|| format!("no font found (install fonts-dejavu-core): {}", FONTS.join(", ")))?;
        // ab_glyph keeps the font for the process's life.
        plotters::style::register_font(FAMILY, FontStyle::Normal, Box::leak(bytes.into_boxed_slice()))
            .map_err(|_| "the font file is not a font".to_owned())
    })
    .clone()
}

fn colour(v: Variant) -> RGBColor {
    match v {
        Variant::Engine(Strategy::Aio | Strategy::AioDirect, _) => RGBColor(214, 96, 41),
        Variant::Engine(Strategy::Serial, _) => RGBColor(150, 150, 190),
        Variant::Engine(..) => RGBColor(45, 105, 175),
        Variant::MemcpyLimit | Variant::MemcpyHugeLimit | Variant::ReadLimit => RGBColor(150, 150, 150),
    }
}

/// The panels: each size and cache state in the order the table has them.
fn groups(r: &Results) -> Vec<Vec<&Figure>> {
    let mut out: Vec<Vec<&Figure>> = Vec::new();
    for f in &r.figures {
        match out
            .iter_mut()
            .find(|g| g[0].size_mib == f.size_mib && g[0].cold == f.cold)
        {
            Some(g) => g.push(f),
            None => out.push(vec![f]),
        }
    }
    out
}

/// Draw the chart of `r` into the PNG at `path`.
pub fn write(r: &Results, path: &Path) -> Result<(), String> {
    font()?;
    let groups = groups(r);
    if groups.is_empty() {
        return Err("nothing was measured".into());
    }
    let rows = groups.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let panel = 70 + ROW * rows;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let root = BitMapBackend::new(path, (WIDTH, panel * groups.len() as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    for (area, figs) in root.split_evenly((groups.len(), 1)).iter().zip(&groups) {
        let n = figs.len() as i32;
        let xmax = figs.iter().map(|f| gbps(f)).fold(0.0, f64::max) * 1.15 + 0.01;
        let title = format!(
            "{} MiB, {} page cache, {} CPUs: GB/s, medians (higher is better)",
            figs[0].size_mib,
            if figs[0].cold { "cold" } else { "warm" },
            r.cpus
        );
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FAMILY, 18))
            .margin(10)
            .x_label_area_size(26)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..xmax, (0..n).into_segmented())
            .map_err(err)?;
        // Table order from the top: row i sits in segment n-1-i.
        let name = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(k) | SegmentValue::Exact(k) if (0..n).contains(k) => {
                figs[(n - 1 - k) as usize].variant.name().to_owned()
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n as usize)
            .y_label_formatter(&name)
            .y_label_style((FAMILY, 14))
            .x_label_style((FAMILY, 13))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(figs.iter().enumerate().map(|(i, f)| {
                let k = n - 1 - i as i32;
                let mut bar = Rectangle::new(
                    [(0.0, SegmentValue::Exact(k)), (gbps(f), SegmentValue::Exact(k + 1))],
                    colour(f.variant).filled(),
                );
                bar.set_margin(4, 4, 0, 0);
                bar
            }))
            .map_err(err)?;
        let label = TextStyle::from((FAMILY, 13)).pos(Pos::new(HPos::Left, VPos::Center));
        chart
            .draw_series(figs.iter().enumerate().map(|(i, f)| {
                let k = n - 1 - i as i32;
                Text::new(
                    format!(" {:.2} GB/s, {:.3} s", gbps(f), f.median()),
                    (gbps(f), SegmentValue::CenterOf(k)),
                    label.clone(),
                )
            }))
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use page_engine::abi::Strategy;

    #[test]
    fn writes_a_png_of_every_panel() {
        let fig = |cold, variant, s: f64| Figure {
            size_mib: 64,
            cold,
            variant,
            seconds: vec![s],
            ran: None,
            memory_ratio: None,
        };
        let r = Results {
            figures: vec![
                fig(false, Variant::Engine(Strategy::Serial, 0), 0.05),
                fig(false, Variant::Engine(Strategy::Aio, 0), 0.06),
                fig(false, Variant::MemcpyLimit, 0.02),
                fig(true, Variant::Engine(Strategy::AioDirect, 0), 0.1),
                fig(true, Variant::ReadLimit, 0.09),
            ],
            failures: Vec::new(),
            cpus: 2,
            kernel: "test".into(),
            cold_skipped: None,
        };
        let path = std::env::temp_dir().join(format!("chart-test-{}.png", std::process::id()));
        write(&r, &path).unwrap();
        let png = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big endian; two panels of three rows at most.
        let be = |o: usize| u32::from_be_bytes(png[o..o + 4].try_into().unwrap());
        assert_eq!((be(16), be(20)), (WIDTH, 2 * (70 + ROW * 3)));
    }
}
