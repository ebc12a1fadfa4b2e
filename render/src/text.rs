//! The embedded fonts (Noto Sans, SIL OFL 1.1: fonts/LICENSE-OFL.txt), measuring with the same
//! shaper krilla draws with, and greedy line breaking.

use krilla::text::Font;

static REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");

struct Face {
    shaper: rustybuzz::Face<'static>,
    krilla: Font,
    ascent: f32,
}

impl Face {
    fn new(data: &'static [u8]) -> Face {
        let shaper = rustybuzz::Face::from_slice(data, 0).expect("the embedded font parses");
        let ascent = shaper.ascender() as f32 / shaper.units_per_em() as f32;
        let krilla = Font::new(data.into(), 0).expect("the embedded font loads");
        Face { shaper, krilla, ascent }
    }
}

pub struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    pub fn embedded() -> Fonts {
        Fonts { regular: Face::new(REGULAR), bold: Face::new(BOLD) }
    }

    fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }

    pub fn krilla(&self, bold: bool) -> Font {
        self.face(bold).krilla.clone()
    }

    /// The ascender as a fraction of the font size: from the top of a line box to the baseline.
    pub fn ascent(&self, bold: bool) -> f32 {
        self.face(bold).ascent
    }

    /// The advance width of `text` at `size` points, shaped as krilla will draw it.
    pub fn width(&self, bold: bool, text: &str, size: f32) -> f32 {
        let face = &self.face(bold).shaper;
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        let shaped = rustybuzz::shape(face, &[], buffer);
        let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 * size / face.units_per_em() as f32
    }

    /// Breaks `text` into lines no wider than `max`: at spaces where possible, inside a word only
    /// when the word alone is too wide (a long hash or URL). Newlines are kept as line breaks.
    pub fn wrap(&self, bold: bool, text: &str, size: f32, max: f32) -> Vec<String> {
        let space = self.width(bold, " ", size);
        let mut lines = Vec::new();
        for hard_line in text.split('\n') {
            let mut line = String::new();
            let mut line_width = 0.0;
            for word in hard_line.split_whitespace() {
                let word_width = self.width(bold, word, size);
                if !line.is_empty() && line_width + space + word_width <= max {
                    line.push(' ');
                    line.push_str(word);
                    line_width += space + word_width;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if word_width <= max {
                    line = word.to_owned();
                    line_width = word_width;
                } else {
                    let mut pieces = self.split_word(bold, word, size, max);
                    let last = pieces.pop().unwrap_or_default();
                    lines.extend(pieces);
                    line_width = self.width(bold, &last, size);
                    line = last;
                }
            }
            lines.push(line);
        }
        lines
    }

    fn split_word(&self, bold: bool, word: &str, size: f32, max: f32) -> Vec<String> {
        let mut pieces = vec![String::new()];
        for c in word.chars() {
            let current = pieces.last_mut().expect("never empty");
            current.push(c);
            if current.chars().count() > 1 && self.width(bold, current, size) > max {
                current.pop();
                pieces.push(c.to_string());
            }
        }
        pieces
    }

    /// `text` cut to fit `max`, with an ellipsis when cut.
    pub fn truncate(&self, bold: bool, text: &str, size: f32, max: f32) -> String {
        if self.width(bold, text, size) <= max {
            return text.to_owned();
        }
        let mut cut: String = text.to_owned();
        while !cut.is_empty() && self.width(bold, &format!("{cut}…"), size) > max {
            cut.pop();
        }
        format!("{}…", cut.trim_end())
    }
}
