//! `DEBUG`-style namespace filters with the exact rules of npm `debug` 4.4.
//!
//! The rules (debug-js/debug `src/common.js`, `enable`, `matchesTemplate`
//! and `enabled`):
//!
//! - the spec is trimmed, every run of whitespace becomes a comma, it is
//!   split on commas and empty parts are dropped. Whitespace is what
//!   JavaScript's `\s` and `trim()` mean (which is not Rust's
//!   `char::is_whitespace`: U+FEFF counts, U+0085 does not);
//! - a part starting with `-` is an exclusion of the rest of the part;
//!   any other part is an inclusion;
//! - a namespace is enabled when no exclusion matches it and some inclusion
//!   does: exclusions win whatever their order;
//! - a pattern matches the whole namespace; `*` matches any run of
//!   characters (none, `:` included) anywhere in the pattern; every other
//!   character, `.` `?` `[` `\` included, matches only itself. No regex.
//!
//! `debug` compares UTF-16 code units and logjet compares UTF-8 bytes; for
//! valid strings both give the same answers, because a match of literal
//! pattern characters can only start on a character boundary.

use std::fmt;

/// A parsed `DEBUG` specification: which namespaces are enabled.
///
/// ```
/// use logjet::Namespaces;
///
/// let ns = Namespaces::parse("app:*,-app:db");
/// assert!(ns.enabled("app:http"));
/// assert!(!ns.enabled("app:db"));       // exclusions win
/// assert!(!ns.enabled("other"));
/// assert!(Namespaces::parse("myapp::db*").enabled("myapp::db::pool"));
/// assert!(!Namespaces::parse("").enabled("app"));  // an empty spec enables nothing
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Namespaces {
    names: Vec<Box<str>>,
    skips: Vec<Box<str>>,
}

impl Namespaces {
    /// Parses a spec such as `"app:*,-app:db"` or `"app:* worker"`.
    pub fn parse(spec: &str) -> Namespaces {
        let mut ns = Namespaces::default();
        for part in spec.split(|c: char| c == ',' || is_js_whitespace(c)) {
            if part.is_empty() {
                continue;
            }
            match part.strip_prefix('-') {
                Some(skip) => ns.skips.push(skip.into()),
                None => ns.names.push(part.into()),
            }
        }
        ns
    }

    /// Whether `namespace` is enabled: no exclusion matches it and some
    /// inclusion does.
    pub fn enabled(&self, namespace: &str) -> bool {
        let n = namespace.as_bytes();
        if self.skips.iter().any(|p| matches(n, p.as_bytes())) {
            return false;
        }
        self.names.iter().any(|p| matches(n, p.as_bytes()))
    }

    /// Whether no namespace at all can be enabled (no inclusion).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl fmt::Display for Namespaces {
    /// The normalized spec, as `debug.disable()` returns it: the inclusions,
    /// then the exclusions with their `-`, joined by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (prefix, list) in [("", &self.names), ("-", &self.skips)] {
            for p in list.iter() {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                write!(f, "{prefix}{p}")?;
            }
        }
        Ok(())
    }
}

/// JavaScript's `\s` (and what `String.prototype.trim` removes): the
/// WhiteSpace and LineTerminator code points of ECMAScript.
pub(crate) fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// `matchesTemplate` of debug 4.4: the whole of `search` against
/// `template`, where `*` matches any run of bytes. Greedy with backtracking
/// to the last `*`, linear in practice.
fn matches(search: &[u8], template: &[u8]) -> bool {
    let (mut s, mut t) = (0, 0);
    let mut star: Option<usize> = None;
    let mut mark = 0;
    while s < search.len() {
        if t < template.len() && (template[t] == search[s] || template[t] == b'*') {
            if template[t] == b'*' {
                star = Some(t);
                mark = s;
                t += 1;
            } else {
                s += 1;
                t += 1;
            }
        } else if let Some(st) = star {
            t = st + 1;
            mark += 1;
            s = mark;
        } else {
            return false;
        }
    }
    while t < template.len() && template[t] == b'*' {
        t += 1;
    }
    t == template.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let ns = Namespaces::parse(" app:* , -app:db\tworker ,,");
        assert!(ns.enabled("app:http"));
        assert!(ns.enabled("app:"));
        assert!(!ns.enabled("app"));
        assert!(!ns.enabled("app:db"));
        assert!(ns.enabled("app:db:pool"));
        assert!(ns.enabled("worker"));
        assert_eq!(ns.to_string(), "app:*,worker,-app:db");
        assert!(Namespaces::parse("*").enabled(""));
        assert!(!Namespaces::parse("-").enabled(""));
        assert!(Namespaces::parse("a*b*c").enabled("axxbyyc"));
        assert!(!Namespaces::parse("a*b*c").enabled("axxbyy"));
        assert!(Namespaces::parse("a.b").enabled("a.b"));
        assert!(!Namespaces::parse("a.b").enabled("axb"));
        assert!(Namespaces::parse("é*").enabled("éclair"));
        assert!(Namespaces::parse("").is_empty());
        assert!(!is_js_whitespace('\u{85}') && is_js_whitespace('\u{feff}'));
    }
}
