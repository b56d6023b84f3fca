//! Problems found in input files, with where they are and how to fix them.
//!
//! Every check that reads user files reports through [`Diagnostic`]: a severity, a stable
//! [`Code`] that CI and editors can match on, a message (lowercase, user input in
//! backticks, no final period), the file and position, and an optional hint. A [`Report`]
//! collects them with the text of the files they point into, so [`render`] can show source
//! snippets, JSON or GitHub workflow annotations from the same data.

pub mod render;
pub mod serde_text;

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::spans::{DocPath, Location};

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The input is invalid; it cannot be used.
    Error,
    /// The input works, but probably not as meant.
    Warning,
}

impl Severity {
    /// The severity's name as written in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $sev:ident, $summary:literal; )*) => {
        /// A stable identifier for each rule; part of the output contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as written in output, e.g. `duplicate_pack_id`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity the rule reports with.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// One line saying what the rule checks (for `--help` and docs).
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    // Reading files.
    /// A file or folder could not be read.
    Io = "io_error", Error, "a file or folder could not be read";
    /// A path is not a catalog directory or definition file.
    NotACatalog = "not_a_catalog", Error, "a path is neither a catalog directory nor a pack or SKU file";
    /// A file is over the size cap.
    FileTooLarge = "file_too_large", Error, "a file is larger than the 10 MiB cap";
    /// A file is not UTF-8 text.
    InvalidEncoding = "invalid_encoding", Error, "a file is binary or not UTF-8 text";
    /// A file is empty.
    EmptyFile = "empty_file", Error, "a file is empty";
    /// A file's kind (pack or SKU) cannot be told.
    UnknownFileKind = "unknown_file_kind", Error, "a file is neither clearly a pack nor a SKU";
    // Parsing.
    /// The text is not valid YAML or TOML.
    Syntax = "syntax_error", Error, "the text is not valid YAML or TOML";
    /// Nesting deeper than the parser allows.
    TooDeep = "nesting_too_deep", Error, "values nest deeper than the parser allows";
    /// YAML aliases expand beyond the limit.
    TooManyAliases = "alias_limit_exceeded", Error, "YAML aliases expand to too many values";
    /// A value has the wrong type or an invalid spelling.
    InvalidValue = "invalid_value", Error, "a value has the wrong type or spelling";
    /// A required field is missing.
    MissingField = "missing_field", Error, "a required field is missing";
    /// A field the format does not define.
    UnknownField = "unknown_field", Error, "a field the format does not define";
    // Identity.
    /// Two packs share an id.
    DuplicatePackId = "duplicate_pack_id", Error, "two packs share an id";
    /// Two SKUs share an id.
    DuplicateSkuId = "duplicate_sku_id", Error, "two SKUs share an id";
    /// Two tools share a name (names are unique across the catalog).
    DuplicateToolName = "duplicate_tool_name", Error, "two tools share a name anywhere in the catalog";
    /// Two actions of a pack share an id.
    DuplicateActionId = "duplicate_action_id", Error, "two actions of one pack share an id";
    /// A file's name differs from the id it defines.
    FileNameMismatch = "file_name_mismatch", Warning, "a file's name differs from the id it defines";
    // Pack relations.
    /// `requires` names a pack the catalog lacks.
    UnknownRequiredPack = "unknown_required_pack", Error, "`requires` names an unknown pack";
    /// Packs require each other in a cycle.
    RequiresCycle = "requires_cycle", Error, "packs require each other in a cycle";
    /// `incompatible_with` names a pack the catalog lacks.
    UnknownIncompatiblePack = "unknown_incompatible_pack", Error, "`incompatible_with` names an unknown pack";
    /// A pack requires, directly or transitively, packs that are incompatible.
    IncompatibleRequirement = "incompatible_requirement", Error, "a pack requires (transitively) a pack it or another required pack is incompatible with";
    // Pack contents.
    /// A tool names an action its pack does not declare.
    UnknownAction = "unknown_action", Error, "a tool names an action its pack does not declare";
    /// A simulated result's `{{args.NAME}}` names no property of the tool's input schema.
    UnknownTemplateArgument = "unknown_template_argument", Error, "a simulated result's `{{args.NAME}}` names no argument of the tool";
    /// A pack declares a signal twice.
    DuplicateSignal = "duplicate_signal", Error, "a pack declares a signal twice";
    /// An action emits a domain event its pack's `receipt_events` does not declare.
    UnknownDomainEvent = "unknown_domain_event", Error, "an action emits a domain event its pack's `receipt_events` does not declare";
    /// An action's `resolve` polls a tool its pack does not have.
    UnknownStatusTool = "unknown_status_tool", Error, "an action's `resolve` polls a tool its pack does not have";
    /// An action's `resolve` cannot work: a status tool that acts, a zero interval, a deadline too short, nothing that means done.
    InvalidResolve = "invalid_resolve", Error, "an action's `resolve` polls a tool that cannot report, without pause, or with a deadline no overrun can meet";
    /// A pack version is not semantic versioning.
    InvalidVersion = "invalid_version", Error, "a version is not a semantic version";
    /// A compute limit is zero or absurdly large.
    InvalidComputeLimit = "invalid_compute_limit", Error, "a compute limit is zero or beyond its maximum";
    /// A command handler's sandbox path is empty, relative, has `..`, or opens too much.
    InvalidSandboxPath = "invalid_sandbox_path", Error, "a command handler's sandbox path is not absolute, has `..`, or would open the whole file system";
    /// A tool's input schema is not a valid JSON object schema.
    InvalidInputSchema = "invalid_input_schema", Error, "a tool's input schema is not a valid JSON object schema";
    /// One action's preconditions share a refusal code.
    DuplicateRefusalCode = "duplicate_refusal_code", Error, "two preconditions of one action share a refusal code";
    /// A precondition's refusal code is a built-in reason code.
    ReservedRefusalCode = "reserved_refusal_code", Error, "a refusal code collides with a built-in reason code";
    /// An action needs a role that no SKU grants.
    UngrantableRole = "ungrantable_role", Error, "an action needs a role that no SKU grants";
    /// A precondition no value can pass (`one_of: []`, a default its check never accepts).
    ImpossiblePrecondition = "impossible_precondition", Warning, "a precondition can never pass: an empty `one_of`, or a `default` of a type its check never accepts";
    /// A SKU grants a role no action needs, spelt like one an action needs and no SKU grants.
    MisspeltRole = "misspelt_role", Error, "a SKU grants a role no action needs, close to one an action needs that no SKU grants";
    /// No SKU enables the pack.
    PackNotSold = "pack_not_in_any_sku", Warning, "no SKU enables the pack";
    // SKUs.
    /// A SKU enables no packs.
    SkuWithoutPacks = "sku_without_packs", Error, "a SKU enables no packs";
    /// A SKU enables a pack the catalog lacks.
    UnknownEnabledPack = "unknown_enabled_pack", Error, "a SKU enables an unknown pack";
    /// A SKU enables a pack without a pack it requires.
    MissingRequiredPack = "missing_required_pack", Error, "a SKU enables a pack but not a pack it requires";
    /// A SKU enables two incompatible packs.
    IncompatiblePacksEnabled = "incompatible_packs_enabled", Error, "a SKU enables two incompatible packs";
    /// A SKU's roles cannot run some action of a pack it enables.
    UnusableAction = "unusable_action", Warning, "a SKU's roles cannot run some action of a pack it enables";
    /// A price is negative, not finite, or has more than two decimals.
    InvalidPrice = "invalid_price", Error, "a price is negative, not finite, too large or has more than two decimals";
    /// A marketplace identifier (a listing, or a plan id) maps to two SKUs.
    DuplicateMarketplaceId = "duplicate_marketplace_id", Error, "a marketplace identifier (listing or plan id) maps to two SKUs";
    /// A currency is not three uppercase letters.
    InvalidCurrency = "invalid_currency", Error, "a currency is not an ISO 4217 code (three uppercase letters)";
    // The file's own allow list.
    /// A `# tai: allow` comment names something that is not a warning code.
    UnknownAllowedCode = "unknown_allowed_code", Warning, "a `# tai: allow` comment names no warning code";
}

impl Code {
    /// The code written `name`, e.g. `unusable_action`.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// Whether the problem is about reaching the input rather than its contents (exit code 2
    /// instead of 1).
    pub fn is_io(self) -> bool {
        matches!(self, Code::Io | Code::NotACatalog)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A secondary place related to a diagnostic, e.g. where a duplicate id was first defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// What the place is.
    pub message: String,
    /// The file it is in (the diagnostic's own file when `None`).
    pub file: Option<PathBuf>,
    /// The value it is about.
    pub field: Option<DocPath>,
    /// Where it is, once resolved.
    pub location: Option<Location>,
}

/// One problem in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The rule that found it.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// The file it is in, when it is about a file.
    pub file: Option<PathBuf>,
    /// The offending value's path in the document, when known.
    pub field: Option<DocPath>,
    /// Line, column and span, once resolved.
    pub location: Option<Location>,
    /// A short text shown under the offending source.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// Related places.
    pub notes: Vec<Note>,
}

impl Diagnostic {
    /// A diagnostic with the rule's own severity.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: code.severity(),
            code,
            message: message.into(),
            file: None,
            field: None,
            location: None,
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    /// Sets the file.
    #[must_use]
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Sets the offending value's path.
    #[must_use]
    pub fn at(mut self, field: DocPath) -> Self {
        self.field = Some(field);
        self
    }

    /// Sets a resolved location.
    #[must_use]
    pub fn located(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Sets the label under the source.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the hint.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the hint when there is one.
    #[must_use]
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Adds a related place.
    #[must_use]
    pub fn note(mut self, message: impl Into<String>, file: Option<&Path>, field: DocPath) -> Self {
        self.notes.push(Note {
            message: message.into(),
            file: file.map(Path::to_path_buf),
            field: Some(field),
            location: None,
        });
        self
    }

    /// `file:line:column` (or as much of it as is known).
    pub fn position(&self) -> String {
        let file = self
            .file
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match self.location {
            Some(loc) => format!("{file}:{}:{}", loc.line, loc.column),
            None => file,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let position = self.position();
        if !position.is_empty() {
            write!(f, "{position}: ")?;
        }
        write!(
            f,
            "{}[{}]: {}",
            self.severity.as_str(),
            self.code,
            self.message
        )
    }
}

/// "did you mean `x`?" for `input` among `candidates`, when [`closest`] finds one.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(input, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate most similar to `input`, when it is similar enough to be a likely typo: the
/// one rule behind every "did you mean" tai shows.
///
/// The rule: the highest Jaro-Winkler similarity, if it is at least 0.8; never `input` itself;
/// on a tie the alphabetically first candidate, so the answer does not depend on the order
/// the candidates come in.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|&(score, c)| score >= 0.8 && c != input)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// Names in backticks, separated by commas: ``a`, `b`, `c``, as messages quote user input.
pub fn backticked<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything a check found, with the text of the files the diagnostics point into.
#[derive(Debug, Clone, Default)]
pub struct Report {
    diagnostics: Vec<Diagnostic>,
    files_checked: usize,
    sources: BTreeMap<PathBuf, Arc<str>>,
}

impl Report {
    /// A report over `files_checked` files.
    pub fn new(mut diagnostics: Vec<Diagnostic>, files_checked: usize) -> Self {
        sort(&mut diagnostics);
        Report {
            diagnostics,
            files_checked,
            sources: BTreeMap::new(),
        }
    }

    /// Keeps a file's text so human output can quote it.
    pub fn add_source(&mut self, path: &Path, text: Arc<str>) {
        self.sources.insert(path.to_path_buf(), text);
    }

    /// Adds diagnostics found elsewhere (e.g. while reading files).
    pub fn extend(&mut self, more: impl IntoIterator<Item = Diagnostic>) {
        self.diagnostics.extend(more);
        sort(&mut self.diagnostics);
    }

    /// The diagnostics, ordered by file, position and code.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The text of a file, when kept.
    pub fn source(&self, path: &Path) -> Option<&str> {
        self.sources.get(path).map(AsRef::as_ref)
    }

    /// How many files were checked.
    pub fn files_checked(&self) -> usize {
        self.files_checked
    }

    /// Sets how many files were checked.
    pub fn set_files_checked(&mut self, n: usize) {
        self.files_checked = n;
    }

    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// Drops the warnings `allowed` says may stand (a deliberate choice, not a mistake) and
    /// returns how many were dropped. Errors always stay.
    pub fn allow(&mut self, allowed: impl Fn(&Diagnostic) -> bool) -> usize {
        let before = self.diagnostics.len();
        self.diagnostics
            .retain(|d| d.severity == Severity::Error || !allowed(d));
        before - self.diagnostics.len()
    }

    /// Whether any error was found.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Whether any error is about reaching the input (missing or unreadable paths).
    pub fn has_io_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error && d.code.is_io())
    }

    /// `N errors, M warnings in K files`.
    pub fn summary(&self) -> String {
        format!(
            "{}, {} in {}",
            plural(self.errors(), "error"),
            plural(self.warnings(), "warning"),
            plural(self.files_checked, "file")
        )
    }
}

impl fmt::Display for Report {
    /// One line per diagnostic and the summary: the plain form for logs and panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        write!(f, "{}", self.summary())
    }
}

/// The warning codes a definition file allows for itself, from comment lines such as
/// `# tai: allow unusable_action, pack_not_sold (why they are deliberate)` (the same in YAML
/// and TOML; words after the codes are the reason, for the reader), and an
/// `unknown_allowed_code` warning (at its line and column, with a did-you-mean) for each
/// listed name that is no warning code: a typo there would otherwise silently allow nothing.
pub fn check_allowances(file: &Path, text: &str) -> (Vec<Code>, Vec<Diagnostic>) {
    let (codes, bad) = allowances(text);
    if bad.is_empty() {
        // The common case, for every file of a large catalog: no line index to build.
        return (codes, Vec::new());
    }
    let lines = crate::spans::LineIndex::new(text);
    let warnings = Code::ALL
        .iter()
        .filter(|c| c.severity() == Severity::Warning)
        .map(|c| c.as_str());
    let diagnostics = bad
        .into_iter()
        .map(|(word, span)| {
            let (message, help) = match Code::from_name(word) {
                Some(_) => (
                    format!("`{word}` is an error, and only warnings can be allowed"),
                    "an error always stands: fix what it reports".to_owned(),
                ),
                None => (
                    format!("`# tai: allow` names `{word}`, which is no warning code"),
                    match closest(word, warnings.clone()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => "`tai validate --list-rules` lists the codes".to_owned(),
                    },
                ),
            };
            let mut d = Diagnostic::new(Code::UnknownAllowedCode, message)
                .in_file(file)
                .located(lines.location(text, span));
            d.help = Some(help);
            d
        })
        .collect();
    (codes, diagnostics)
}

/// The allowed codes, and each listed word that is not a warning code with its span. The
/// list ends at the first word that is neither a code nor shaped like one (`snake_case`):
/// that is where the reason begins.
fn allowances(text: &str) -> (Vec<Code>, Vec<(&str, crate::spans::Span)>) {
    let mut codes = Vec::new();
    let mut bad = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        let Some(list) = comment.trim_start().strip_prefix("tai: allow ") else {
            continue;
        };
        let list_at = start + (line.len() - comment.len()) + (comment.len() - list.len());
        let mut at = 0;
        let mut first = true;
        for word in list.split([',', ' ', '\n', '\r']) {
            let word_at = at;
            at += word.len() + 1;
            if word.is_empty() {
                continue;
            }
            let leading = std::mem::take(&mut first);
            match Code::from_name(word) {
                Some(code) if code.severity() == Severity::Warning => codes.push(code),
                _ if leading || looks_like_a_code(word) => bad.push((
                    word,
                    crate::spans::Span {
                        offset: list_at + word_at,
                        len: word.len(),
                    },
                )),
                _ => break,
            }
        }
    }
    (codes, bad)
}

fn looks_like_a_code(word: &str) -> bool {
    word.contains('_') && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// Escapes text for an XML or HTML attribute or element (JUnit reports, SVG, HTML reports). Characters XML 1.0 cannot carry at all
/// (control characters other than tab, newline and carriage return) are written as `\u{..}`.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `1 tenant`, `2 tenants`: a count with its noun, never `1 tenant(s)`.
pub fn plural<N: fmt::Display + PartialEq + From<u8>>(n: N, word: &str) -> String {
    if n == N::from(1) {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            (
                d.file.clone(),
                d.location.map(|l| (l.line, l.column)),
                d.severity,
                d.code,
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape_markup("a<b> & \"c\" 'd'\u{1}\n"),
            "a&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;\\u{1}\n"
        );
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code}");
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
    }

    #[test]
    fn an_allow_comment_lists_codes_until_its_reason_and_flags_what_is_no_warning_code() {
        let text = "a: 1\n# tai: allow unusable_action, pack_not_in_any_sku (sold as add-ons)\n\
                    #   tai: allow unknown_field pack_not_in_any_sk because\n";
        let (codes, bad) = check_allowances(Path::new("p.yaml"), text);
        assert_eq!(codes, [Code::UnusableAction, Code::PackNotSold]);
        let said: Vec<(String, usize, usize, Option<String>)> = bad
            .iter()
            .map(|d| {
                let l = d.location.unwrap();
                (d.message.clone(), l.line, l.column, d.help.clone())
            })
            .collect();
        assert_eq!(
            said,
            [
                (
                    "`unknown_field` is an error, and only warnings can be allowed".to_owned(),
                    3,
                    16,
                    Some("an error always stands: fix what it reports".to_owned())
                ),
                (
                    "`# tai: allow` names `pack_not_in_any_sk`, which is no warning code"
                        .to_owned(),
                    3,
                    30,
                    Some("did you mean `pack_not_in_any_sku`?".to_owned())
                ),
            ]
        );
    }

    #[test]
    fn suggestions_pick_close_names() {
        assert_eq!(
            did_you_mean("requries", ["requires", "receipt_events"]),
            Some("did you mean `requires`?".into())
        );
        assert_eq!(did_you_mean("zzz", ["requires"]), None);
        let ids = ["rollback_guard", "storm_discipline"];
        assert_eq!(closest("rollback_gaurd", ids), Some("rollback_guard"));
        assert_eq!(closest("zzz", ids), None);
    }

    #[test]
    fn suggestions_never_echo_the_input_and_break_ties_by_name() {
        assert_eq!(closest("query", ["query"]), None);
        assert_eq!(closest("abcdx", ["abcdz", "abcdy"]), Some("abcdy"));
        assert_eq!(closest("abcdx", ["abcdy", "abcdz"]), Some("abcdy"));
    }

    #[test]
    fn summary_counts() {
        let report = Report::new(
            vec![
                Diagnostic::new(Code::DuplicatePackId, "x"),
                Diagnostic::new(Code::PackNotSold, "y"),
            ],
            1,
        );
        assert_eq!(report.summary(), "1 error, 1 warning in 1 file");
    }
}
