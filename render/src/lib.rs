//! The PDF renderer (krilla, with Noto Sans embedded and subset) and the render worker that the
//! `render` Lambda and the local host run. Only they and the tests depend on this crate, so the
//! API functions never carry a PDF library or fonts. Why krilla: see README.md (measured).

mod text;
pub mod worker;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use mas_domain::logo::LogoFormat;
use mas_domain::values::Color;
use mas_ports::Renderer;
use mas_ports::renderer::{RenderJob, RenderSignature};

use text::Fonts;

/// A4 in points.
const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.0;
const BAND: f32 = 40.0;
const CONTENT_TOP: f32 = BAND + 30.0;
/// Content stops here; the footer lives below.
const CONTENT_BOTTOM: f32 = HEIGHT - 74.0;
const CONTENT_WIDTH: f32 = WIDTH - 2.0 * MARGIN;

const BODY: f32 = 10.5;
const BODY_LEADING: f32 = 14.6;

/// Renders documents as A4 PDFs: a header band in the clinic's colour, the title and blocks, the
/// signature and an audit page for signed documents, and on every page a footer with the stamp
/// and "Page n of N". Output is deterministic: the same job gives the same bytes.
pub struct KrillaRenderer {
    fonts: Fonts,
}

impl Default for KrillaRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl KrillaRenderer {
    pub fn new() -> Self {
        KrillaRenderer { fonts: Fonts::embedded() }
    }
}

impl Renderer for KrillaRenderer {
    fn render(&self, job: &RenderJob) -> Result<Vec<u8>, String> {
        let pages = self.layout(job)?;
        self.paint(job, &pages)
    }
}

/// One thing drawn on a page, positioned in points from the top-left corner.
#[derive(Debug, Clone)]
enum Op {
    /// `y` is the top of the line box.
    Text {
        x: f32,
        y: f32,
        bold: bool,
        size: f32,
        color: Color,
        text: String,
    },
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
        color: Color,
    },
}

struct Pages {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pages {
    fn new() -> Self {
        Pages { pages: vec![Vec::new()], y: CONTENT_TOP }
    }

    fn break_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = CONTENT_TOP;
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn need(&mut self, height: f32) {
        if self.y + height > CONTENT_BOTTOM && self.y > CONTENT_TOP {
            self.break_page();
        }
    }

    fn push(&mut self, op: Op) {
        self.pages.last_mut().expect("there is always a page").push(op);
    }

    fn lines(&mut self, lines: &[String], x: f32, bold: bool, size: f32, leading: f32, color: Color) {
        for line in lines {
            self.need(leading);
            self.push(Op::Text { x, y: self.y, bold, size, color, text: line.clone() });
            self.y += leading;
        }
    }
}

impl KrillaRenderer {
    fn layout(&self, job: &RenderJob) -> Result<Vec<Vec<Op>>, String> {
        let c = job.colors;
        let mut p = Pages::new();
        let title = self.fonts.wrap(true, &job.title, 17.0, CONTENT_WIDTH);
        p.lines(&title, MARGIN, true, 17.0, 22.0, c.primary);
        p.y += 4.0;
        for line in &job.subtitle {
            let wrapped = self.fonts.wrap(false, line, 8.5, CONTENT_WIDTH);
            p.lines(&wrapped, MARGIN, false, 8.5, 11.5, c.muted_text);
        }
        p.y += 8.0;
        p.push(Op::Rule { x1: MARGIN, x2: WIDTH - MARGIN, y: p.y, color: c.primary });
        p.y += 12.0;

        for block in &job.blocks {
            let heading = self.fonts.wrap(true, &block.title, 12.0, CONTENT_WIDTH);
            let paragraphs: Vec<Vec<String>> = block
                .body
                .split("\n\n")
                .map(str::trim)
                .filter(|para| !para.is_empty())
                .map(|para| self.fonts.wrap(false, para, BODY, CONTENT_WIDTH))
                .collect();
            // Keep a heading with at least two lines of its text.
            let first = paragraphs.first().map_or(0, |lines| lines.len().min(2)) as f32;
            p.need(heading.len() as f32 * 16.0 + 3.0 + first * BODY_LEADING);
            p.lines(&heading, MARGIN, true, 12.0, 16.0, c.primary);
            p.y += 3.0;
            for (i, lines) in paragraphs.iter().enumerate() {
                if i > 0 {
                    p.y += 5.0;
                }
                p.lines(lines, MARGIN, false, BODY, BODY_LEADING, c.text);
            }
            p.y += 11.0;
        }

        if let Some(signature) = &job.signature {
            self.signature(&mut p, job, signature)?;
            self.audit_page(&mut p, job, signature);
        }
        Ok(p.pages)
    }

    fn signature(&self, p: &mut Pages, job: &RenderJob, signature: &RenderSignature) -> Result<(), String> {
        let c = job.colors;
        let image = Image::from_png(signature.png.clone().into(), true).map_err(|e| format!("signature image: {e}"))?;
        let (iw, ih) = image.size();
        let scale = (220.0 / iw as f32).min(80.0 / ih as f32);
        let (w, h) = (iw as f32 * scale, ih as f32 * scale);
        p.need(16.0 + 8.0 + h + 6.0 + 2.0 * BODY_LEADING);
        p.lines(&["Signature".to_owned()], MARGIN, true, 12.0, 16.0, c.primary);
        p.y += 8.0;
        p.push(Op::Image { x: MARGIN, y: p.y, w, h });
        p.y += h + 4.0;
        p.push(Op::Rule { x1: MARGIN, x2: MARGIN + 240.0, y: p.y, color: c.muted_text });
        p.y += 4.0;
        let name = format!("Signed by {}", signature.typed_name);
        p.lines(&self.fonts.wrap(false, &name, BODY, CONTENT_WIDTH), MARGIN, false, BODY, BODY_LEADING, c.text);
        let when = format!(
            "Signed electronically on {} (UTC). The audit trail follows.",
            signature.signed_at.format("%-d %B %Y at %H:%M:%S")
        );
        p.lines(&self.fonts.wrap(false, &when, 8.5, CONTENT_WIDTH), MARGIN, false, 8.5, 11.5, c.muted_text);
        Ok(())
    }

    fn audit_page(&self, p: &mut Pages, job: &RenderJob, signature: &RenderSignature) {
        let c = job.colors;
        p.break_page();
        p.lines(&["Audit trail".to_owned()], MARGIN, true, 15.0, 20.0, c.primary);
        p.y += 4.0;
        for note in &signature.audit_notes {
            let lines = self.fonts.wrap(false, note, 8.0, CONTENT_WIDTH);
            p.lines(&lines, MARGIN, false, 8.0, 10.5, c.muted_text);
        }
        p.y += 10.0;
        let columns =
            [("Time (UTC)", 88.0), ("Event", 178.0), ("IP address", 78.0), ("User agent", CONTENT_WIDTH - 344.0)];
        let row = |p: &mut Pages, cells: [String; 4], bold: bool| {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .zip(columns)
                .map(|(text, (_, width))| self.fonts.wrap(bold, text, 8.0, width - 6.0))
                .collect();
            let height = wrapped.iter().map(Vec::len).max().unwrap_or(1) as f32 * 10.5 + 6.0;
            p.need(height);
            let mut x = MARGIN;
            for (lines, (_, width)) in wrapped.iter().zip(columns) {
                for (i, line) in lines.iter().enumerate() {
                    p.push(Op::Text {
                        x,
                        y: p.y + 3.0 + i as f32 * 10.5,
                        bold,
                        size: 8.0,
                        color: c.text,
                        text: line.clone(),
                    });
                }
                x += width;
            }
            p.y += height;
            p.push(Op::Rule { x1: MARGIN, x2: WIDTH - MARGIN, y: p.y, color: c.muted_text });
        };
        row(p, columns.map(|(name, _)| name.to_owned()), true);
        for entry in &signature.audit {
            let cells = [
                entry.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                entry.event.clone(),
                entry.ip.clone(),
                entry.user_agent.clone(),
            ];
            row(p, cells, false);
        }
    }

    fn paint(&self, job: &RenderJob, pages: &[Vec<Op>]) -> Result<Vec<u8>, String> {
        let c = job.colors;
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new().title(job.title.clone()).creator("Master Aesthetics Suite".into()).language("en-GB".into()),
        );
        let total = pages.len();
        let logo = match &job.logo {
            Some(logo) => {
                let data = logo.bytes.clone().into();
                let image = match logo.format {
                    LogoFormat::Png => Image::from_png(data, true),
                    LogoFormat::Jpeg => Image::from_jpeg(data, true),
                };
                let image = image.map_err(|e| format!("logo image: {e}"))?;
                let size = logo_size(image.size()).ok_or("bad logo size")?;
                Some((image, size))
            }
            None => None,
        };
        let image = match &job.signature {
            Some(signature) => {
                Some(Image::from_png(signature.png.clone().into(), true).map_err(|e| format!("signature image: {e}"))?)
            }
            None => None,
        };
        for (index, ops) in pages.iter().enumerate() {
            let settings = PageSettings::from_wh(WIDTH, HEIGHT).ok_or("bad page size")?;
            let mut page = document.start_page_with(settings);
            let mut surface = page.surface();
            // Header band in the clinic's colour.
            fill(&mut surface, c.primary);
            let mut band = PathBuilder::new();
            band.push_rect(Rect::from_xywh(0.0, 0.0, WIDTH, BAND).ok_or("bad band")?);
            surface.draw_path(&band.finish().ok_or("bad band")?);
            fill(&mut surface, c.on_primary);
            // The logo sits at the right of the band; the clinic's name gives it room.
            let logo_room = logo.as_ref().map_or(0.0, |(_, size)| size.width() + 12.0);
            let clinic = self.fonts.truncate(true, &job.clinic_name, 12.0, CONTENT_WIDTH - logo_room);
            self.text(&mut surface, MARGIN, 13.0, true, 12.0, &clinic);
            if let Some((image, size)) = &logo {
                let top = (BAND - size.height()) / 2.0;
                surface.push_transform(&Transform::from_translate(WIDTH - MARGIN - size.width(), top));
                surface.draw_image(image.clone(), *size);
                surface.pop();
            }

            for op in ops {
                match op {
                    Op::Text { x, y, bold, size, color, text } => {
                        fill(&mut surface, *color);
                        self.text(&mut surface, *x, *y, *bold, *size, text);
                    }
                    Op::Image { x, y, w, h } => {
                        if let (Some(image), Some(size)) = (&image, Size::from_wh(*w, *h)) {
                            surface.push_transform(&Transform::from_translate(*x, *y));
                            surface.draw_image(image.clone(), size);
                            surface.pop();
                        }
                    }
                    Op::Rule { x1, x2, y, color } => rule(&mut surface, *x1, *x2, *y, *color),
                }
            }

            // Footer: the stamp, what it is, and the page number.
            rule(&mut surface, MARGIN, WIDTH - MARGIN, HEIGHT - 60.0, c.muted_text);
            fill(&mut surface, c.text);
            self.text(&mut surface, MARGIN, HEIGHT - 54.0, true, 7.5, &format!("Stamp {}", job.stamp));
            fill(&mut surface, c.muted_text);
            let note = self.fonts.truncate(false, &job.footer_note, 7.0, CONTENT_WIDTH - 70.0);
            self.text(&mut surface, MARGIN, HEIGHT - 42.0, false, 7.0, &note);
            let number = format!("Page {} of {}", index + 1, total);
            let width = self.fonts.width(false, &number, 7.5);
            self.text(&mut surface, WIDTH - MARGIN - width, HEIGHT - 42.0, false, 7.5, &number);
            surface.finish();
            page.finish();
        }
        document.finish().map_err(|e| format!("{e:?}"))
    }

    fn text(&self, surface: &mut krilla::surface::Surface<'_>, x: f32, top: f32, bold: bool, size: f32, text: &str) {
        let font: Font = self.fonts.krilla(bold);
        let baseline = top + size * self.fonts.ascent(bold);
        surface.draw_text(Point::from_xy(x, baseline), font, size, text, false, TextDirection::Auto);
    }
}

/// The logo's drawn size: 28 pt high (the band is 40), at most 160 pt wide, aspect kept.
fn logo_size((width, height): (u32, u32)) -> Option<Size> {
    const MAX_HEIGHT: f32 = 28.0;
    const MAX_WIDTH: f32 = 160.0;
    let (w, h) = (width as f32, height as f32);
    let scale = (MAX_HEIGHT / h).min(MAX_WIDTH / w);
    Size::from_wh(w * scale, h * scale)
}

fn krilla_color(c: Color) -> rgb::Color {
    rgb::Color::new(c.r, c.g, c.b)
}

fn fill(surface: &mut krilla::surface::Surface<'_>, color: Color) {
    surface.set_fill(Some(Fill { paint: krilla_color(color).into(), ..Default::default() }));
}

fn rule(surface: &mut krilla::surface::Surface<'_>, x1: f32, x2: f32, y: f32, color: Color) {
    let mut path = PathBuilder::new();
    path.move_to(x1, y);
    path.line_to(x2, y);
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke { paint: krilla_color(color).into(), width: 0.6, ..Default::default() }));
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
}

#[cfg(test)]
mod tests;
