//! The YAML pre-scan that refuses collections nested too deep before a parser runs.
//!
//! libyaml (under serde_yaml) checks every pending simple key at every token, one per open
//! flow collection, so a file of nothing but `[` takes time quadratic in its size; and a
//! line of nothing but `- - - …` opens a block sequence per dash, which the parser and
//! deserializer then take seconds and gigabytes to unwind before refusing it. The
//! depth that matters is the one libyaml's scanner reaches, so this is that scanner's token
//! loop with the values left out: the same rules for where a token starts, for comments,
//! quoted, plain and block scalars, tags, anchors and directives, and the block indentation
//! and simple-key state that block scalars and plain scalars depend on. Brackets inside
//! scalars and comments do not count; no text can hide a real `[` from it.
//!
//! Where libyaml would stop with a syntax error the scan simply goes on: libyaml does no
//! work past that point, so nothing found there can make it slow (at worst a file that is
//! broken anyway is refused for its depth).

/// Flow collections (`[`, `{`), or block collections (indentation levels, as libyaml keeps
/// them), nested deeper than this are refused before parsing; the deserializers refuse
/// values nested this deep anyway.
pub const MAX_YAML_DEPTH: usize = 128;

/// The byte offset of the first `[` or `{` that opens a flow collection deeper than
/// [`MAX_YAML_DEPTH`], or of the first token that opens a block collection that deep,
/// found in one linear pass.
pub fn yaml_depth_exceeded(text: &str) -> Option<usize> {
    Scanner::new(text.as_bytes()).run()
}

/// A simple key that may still turn out to be one (libyaml's, at flow level 0: only that
/// one moves the block indentation).
#[derive(Clone, Copy)]
struct Key {
    line: usize,
    index: usize,
    column: usize,
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    line: usize,
    column: usize,
    flow: usize,
    indent: isize,
    indents: Vec<isize>,
    simple_key_allowed: bool,
    key: Option<Key>,
    /// Where a block collection first opened deeper than [`MAX_YAML_DEPTH`].
    too_deep: Option<usize>,
}

impl<'a> Scanner<'a> {
    fn new(b: &'a [u8]) -> Self {
        Scanner {
            b,
            pos: 0,
            line: 0,
            column: 0,
            flow: 0,
            indent: -1,
            indents: Vec::new(),
            simple_key_allowed: true,
            key: None,
            too_deep: None,
        }
    }

    fn at(&self, n: usize) -> u8 {
        self.b.get(self.pos + n).copied().unwrap_or(0)
    }

    fn eof(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// The width of the line break at `pos + n` (0 when there is none).
    fn break_at(&self, n: usize) -> usize {
        match (self.at(n), self.at(n + 1), self.at(n + 2)) {
            (b'\r' | b'\n', _, _) => 1,
            (0xC2, 0x85, _) => 2,
            (0xE2, 0x80, 0xA8 | 0xA9) => 3,
            _ => 0,
        }
    }

    fn is_break(&self) -> bool {
        self.break_at(0) > 0
    }

    fn blank_at(&self, n: usize) -> bool {
        matches!(self.at(n), b' ' | b'\t')
    }

    /// Blank, a line break or the end.
    fn blankz_at(&self, n: usize) -> bool {
        self.blank_at(n) || self.break_at(n) > 0 || self.pos + n >= self.b.len()
    }

    /// Moves past one character (not a line break).
    fn skip(&mut self) {
        let width = match self.at(0) {
            b if b < 0x80 => 1,
            b if b >= 0xF0 => 4,
            b if b >= 0xE0 => 3,
            _ => 2,
        };
        self.pos = (self.pos + width).min(self.b.len());
        self.column += 1;
    }

    /// Moves past one line break (`\r\n` is one).
    fn skip_line(&mut self) {
        let width = if self.at(0) == b'\r' && self.at(1) == b'\n' {
            2
        } else {
            self.break_at(0)
        };
        if width > 0 {
            self.pos += width;
            self.line += 1;
            self.column = 0;
        }
    }

    fn skip_to_break(&mut self) {
        while !self.eof() && !self.is_break() {
            self.skip();
        }
    }

    fn document_marker(&self) -> bool {
        self.column == 0
            && (self.b[self.pos..].starts_with(b"---") || self.b[self.pos..].starts_with(b"..."))
            && self.blankz_at(3)
    }

    fn save_key(&mut self) {
        if self.simple_key_allowed && self.flow == 0 {
            self.key = Some(self.key_here());
        }
    }

    fn key_here(&self) -> Key {
        Key {
            line: self.line,
            index: self.pos,
            column: self.column,
        }
    }

    /// Removes the simple key of the current flow level (only level 0's is kept).
    fn remove_key(&mut self) {
        if self.flow == 0 {
            self.key = None;
        }
    }

    /// Opens a block collection at `column` (its token at byte `at`) unless one is open there.
    fn roll_indent(&mut self, column: usize, at: usize) {
        let column = isize::try_from(column).unwrap_or(isize::MAX);
        if self.flow == 0 && self.indent < column {
            self.indents.push(self.indent);
            self.indent = column;
            if self.indents.len() > MAX_YAML_DEPTH && self.too_deep.is_none() {
                self.too_deep = Some(at);
            }
        }
    }

    fn unroll_indent(&mut self, column: isize) {
        if self.flow != 0 {
            return;
        }
        while self.indent > column {
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    fn run(&mut self) -> Option<usize> {
        loop {
            if self.too_deep.is_some() {
                return self.too_deep;
            }
            self.skip_to_next_token();
            if let Some(k) = self.key
                && (k.line < self.line || k.index + 1024 < self.pos)
            {
                self.key = None;
            }
            self.unroll_indent(isize::try_from(self.column).unwrap_or(isize::MAX));
            if self.eof() {
                return None;
            }
            let c = self.at(0);
            if self.column == 0 && c == b'%' {
                self.unroll_indent(-1);
                self.remove_key();
                self.simple_key_allowed = false;
                self.skip_to_break();
                continue;
            }
            if self.document_marker() {
                self.unroll_indent(-1);
                self.remove_key();
                self.simple_key_allowed = false;
                for _ in 0..3 {
                    self.skip();
                }
                continue;
            }
            match c {
                b'[' | b'{' => {
                    self.save_key();
                    self.flow += 1;
                    if self.flow > MAX_YAML_DEPTH {
                        return Some(self.pos);
                    }
                    self.simple_key_allowed = true;
                    self.skip();
                }
                b']' | b'}' => {
                    self.remove_key();
                    self.flow = self.flow.saturating_sub(1);
                    self.simple_key_allowed = false;
                    self.skip();
                }
                b',' => {
                    self.remove_key();
                    self.simple_key_allowed = true;
                    self.skip();
                }
                b'-' if self.blankz_at(1) => {
                    self.roll_indent(self.column, self.pos);
                    self.remove_key();
                    self.simple_key_allowed = true;
                    self.skip();
                }
                b'?' if self.flow > 0 || self.blankz_at(1) => {
                    self.roll_indent(self.column, self.pos);
                    self.remove_key();
                    self.simple_key_allowed = self.flow == 0;
                    self.skip();
                }
                b':' if self.flow > 0 || self.blankz_at(1) => {
                    self.value();
                    self.skip();
                }
                b'*' | b'&' => {
                    self.save_key();
                    self.simple_key_allowed = false;
                    self.skip();
                    while self.at(0).is_ascii_alphanumeric() || matches!(self.at(0), b'_' | b'-') {
                        self.skip();
                    }
                }
                b'!' => {
                    self.save_key();
                    self.simple_key_allowed = false;
                    self.tag();
                }
                b'|' | b'>' if self.flow == 0 => {
                    self.remove_key();
                    self.simple_key_allowed = true;
                    self.block_scalar();
                }
                b'\'' | b'"' => {
                    self.save_key();
                    self.simple_key_allowed = false;
                    self.quoted_scalar(c);
                }
                _ if self.plain_can_start(c) => {
                    self.save_key();
                    self.simple_key_allowed = false;
                    if self.plain_scalar() {
                        self.simple_key_allowed = true;
                    }
                }
                // libyaml stops here ("found character that cannot start any token").
                _ => self.skip(),
            }
        }
    }

    /// Spaces, comments and line breaks up to the next token.
    fn skip_to_next_token(&mut self) {
        loop {
            if self.column == 0 && self.b[self.pos..].starts_with("\u{feff}".as_bytes()) {
                self.skip();
            }
            while self.at(0) == b' '
                || ((self.flow > 0 || !self.simple_key_allowed) && self.at(0) == b'\t')
            {
                self.skip();
            }
            if self.at(0) == b'#' {
                self.skip_to_break();
            }
            if !self.is_break() {
                return;
            }
            self.skip_line();
            if self.flow == 0 {
                self.simple_key_allowed = true;
            }
        }
    }

    /// A `:` that is a value indicator: a pending simple key becomes a key, which in block
    /// context opens a mapping at its column.
    fn value(&mut self) {
        if self.flow == 0 {
            match self.key.take() {
                Some(k) => {
                    self.roll_indent(k.column, k.index);
                    self.simple_key_allowed = false;
                }
                None => {
                    self.roll_indent(self.column, self.pos);
                    self.simple_key_allowed = true;
                }
            }
        } else {
            self.simple_key_allowed = false;
        }
    }

    fn plain_can_start(&self, c: u8) -> bool {
        let indicator = b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !(self.blankz_at(0) || indicator)
            || (c == b'-' && !self.blank_at(1))
            || (self.flow == 0 && matches!(c, b'?' | b':') && !self.blankz_at(1))
    }

    /// `!<verbatim>`, `!handle!suffix` or `!suffix`.
    fn tag(&mut self) {
        let uri = |b: u8, verbatim: bool| {
            b.is_ascii_alphanumeric()
                || b";/?:@&=+$.%!~*'()_-".contains(&b)
                || (verbatim && b",[]".contains(&b))
        };
        if self.at(1) == b'<' {
            self.skip();
            self.skip();
            while uri(self.at(0), true) {
                self.skip();
            }
            if self.at(0) == b'>' {
                self.skip();
            }
            return;
        }
        self.skip();
        while self.at(0).is_ascii_alphanumeric() || matches!(self.at(0), b'_' | b'-') {
            self.skip();
        }
        if self.at(0) == b'!' {
            self.skip();
        }
        while uri(self.at(0), false) {
            self.skip();
        }
    }

    fn quoted_scalar(&mut self, quote: u8) {
        let single = quote == b'\'';
        self.skip();
        loop {
            if self.document_marker() || self.eof() {
                return;
            }
            while !self.blankz_at(0) {
                if single && self.at(0) == b'\'' && self.at(1) == b'\'' {
                    self.skip();
                    self.skip();
                } else if self.at(0) == quote {
                    break;
                } else if !single && self.at(0) == b'\\' && self.break_at(1) > 0 {
                    self.skip();
                    self.skip_line();
                    break;
                } else if !single && self.at(0) == b'\\' {
                    // An escape: the character after the backslash is never the end.
                    self.skip();
                    self.skip();
                } else {
                    self.skip();
                }
            }
            if self.at(0) == quote {
                self.skip();
                return;
            }
            while self.blank_at(0) || self.is_break() {
                if self.is_break() {
                    self.skip_line();
                } else {
                    self.skip();
                }
            }
        }
    }

    /// Scans a plain scalar; whether it ended after a line break (a simple key may follow).
    fn plain_scalar(&mut self) -> bool {
        let indent = self.indent + 1;
        let mut leading_blanks = false;
        loop {
            if self.document_marker() || self.at(0) == b'#' {
                break;
            }
            while !self.blankz_at(0) {
                let c = self.at(0);
                if self.flow > 0 && c == b':' && b",?[]{}".contains(&self.at(1)) {
                    // libyaml stops here ("found unexpected ':'").
                    return leading_blanks;
                }
                if (c == b':' && self.blankz_at(1)) || (self.flow > 0 && b",[]{}".contains(&c)) {
                    break;
                }
                leading_blanks = false;
                self.skip();
            }
            if !(self.blank_at(0) || self.is_break()) {
                break;
            }
            while self.blank_at(0) || self.is_break() {
                if self.is_break() {
                    self.skip_line();
                    leading_blanks = true;
                } else {
                    self.skip();
                }
            }
            if self.flow == 0 && self.column_below(indent) {
                break;
            }
        }
        leading_blanks
    }

    fn column_below(&self, indent: isize) -> bool {
        isize::try_from(self.column).unwrap_or(isize::MAX) < indent
    }

    /// `|` or `>`, its header, and every line indented at least as far as its content.
    fn block_scalar(&mut self) {
        self.skip();
        let mut increment = 0;
        for _ in 0..2 {
            match self.at(0) {
                b'+' | b'-' => self.skip(),
                d @ b'1'..=b'9' if increment == 0 => {
                    increment = isize::from(d - b'0');
                    self.skip();
                }
                _ => break,
            }
        }
        while self.blank_at(0) {
            self.skip();
        }
        if self.at(0) == b'#' {
            self.skip_to_break();
        }
        if !self.is_break() {
            // libyaml stops here unless at the end ("did not find expected comment or line
            // break").
            return;
        }
        self.skip_line();
        let mut indent = match increment {
            0 => 0,
            n if self.indent >= 0 => self.indent + n,
            n => n,
        };
        self.block_breaks(&mut indent);
        while !self.eof() && isize::try_from(self.column).is_ok_and(|c| c == indent) {
            self.skip_to_break();
            self.skip_line();
            self.block_breaks(&mut indent);
        }
    }

    /// The empty lines and indentation of a block scalar; fixes its indentation when not yet
    /// known.
    fn block_breaks(&mut self, indent: &mut isize) {
        let mut max_indent = 0;
        loop {
            while (*indent == 0 || self.column_below(*indent)) && self.at(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(isize::try_from(self.column).unwrap_or(isize::MAX));
            if (*indent == 0 || self.column_below(*indent)) && self.at(0) == b'\t' {
                // libyaml stops here ("found a tab character where an indentation space is
                // expected").
                break;
            }
            if !self.is_break() {
                break;
            }
            self.skip_line();
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
    }
}
