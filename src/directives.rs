//! `RUST_LOG`-style directives (`info,my_app::db=debug,hyper=off`): which
//! level each target takes. Used by [`init`](crate::init) for the `log`
//! bridge and for logjet's own level; `tracing` events get the full
//! `EnvFilter` (spans and fields too) from the same text.

use std::fmt;

use crate::level::Level;

/// Parsed directives: a default and per-target minimum levels (`None`:
/// off). The longest target prefix that matches wins, as in `EnvFilter`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Directives {
    /// The level of targets no directive names (`None` when no bare level
    /// was given: the caller's default applies).
    pub(crate) default: Option<Option<Level>>,
    /// (target, level), longest targets first.
    targets: Vec<(String, Option<Level>)>,
}

/// Why a directive is not understood.
#[derive(Debug, PartialEq)]
pub(crate) struct BadDirective(pub(crate) String);

impl fmt::Display for BadDirective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `off` or a level name (`warning` too) or a pino number.
fn level_or_off(s: &str) -> Result<Option<Level>, BadDirective> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    s.parse::<Level>().map(Some).map_err(|e| BadDirective(e.to_string()))
}

impl Directives {
    /// Parses comma-separated directives: `level`, `target`, `target=level`.
    /// Span and field filters (`target[span{field}]=level`) are valid
    /// `EnvFilter` syntax: they are skipped here (a `log` record has no
    /// span) and applied by `EnvFilter` to `tracing` events.
    pub(crate) fn parse(text: &str) -> Result<Directives, BadDirective> {
        let mut d = Directives::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (target, level) = match part.rsplit_once('=') {
                Some((t, l)) => (t.trim(), level_or_off(l.trim())?),
                // A bare word is a level if it parses as one, else a target
                // at the most verbose level (as in EnvFilter).
                None => match level_or_off(part) {
                    Ok(l) => ("", l),
                    Err(_) => (part, Some(Level::Trace)),
                },
            };
            if target.contains(['[', '{']) {
                continue;
            }
            if target.is_empty() {
                d.default = Some(level);
            } else if !target.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')) {
                return Err(BadDirective(format!("{target:?} is not a target (a module path like my_app::db)")));
            } else {
                d.targets.retain(|(t, _)| t != target);
                d.targets.push((target.to_string(), level));
            }
        }
        d.targets.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(d)
    }

    /// The minimum level of `target` (`None`: off), `default` when nothing
    /// matches.
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    pub(crate) fn level_of(&self, target: &str, default: Option<Level>) -> Option<Level> {
        for (t, level) in &self.targets {
            let matches = target.strip_prefix(t.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with("::"));
            if matches {
                return *level;
            }
        }
        self.default.unwrap_or(default)
    }

    /// The most verbose level any directive enables (`None`: all off).
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    pub(crate) fn most_verbose(&self, default: Option<Level>) -> Option<Level> {
        self.targets.iter().map(|(_, l)| *l).chain([self.default.unwrap_or(default)]).flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_targets_and_the_longest_prefix() {
        let d = Directives::parse("warn, my_app=info, my_app::db=debug, hyper=off, noisy").unwrap();
        assert_eq!(d.level_of("other", Some(Level::Info)), Some(Level::Warn));
        assert_eq!(d.level_of("my_app", None), Some(Level::Info));
        assert_eq!(d.level_of("my_app::http", None), Some(Level::Info));
        assert_eq!(d.level_of("my_app::db::pool", None), Some(Level::Debug));
        assert_eq!(d.level_of("my_appx", None), Some(Level::Warn), "a prefix is a whole path segment");
        assert_eq!(d.level_of("hyper::proto", None), None);
        assert_eq!(d.level_of("noisy", None), Some(Level::Trace));
        assert_eq!(d.most_verbose(None), Some(Level::Trace));
        let d = Directives::parse("my_app=debug").unwrap();
        assert_eq!(d.level_of("x", Some(Level::Info)), Some(Level::Info));
        assert_eq!(d.most_verbose(Some(Level::Info)), Some(Level::Debug));
    }

    #[test]
    fn span_filters_are_left_to_env_filter_and_bad_input_is_an_error() {
        let d = Directives::parse("info,my_app[request{id=7}]=trace").unwrap();
        assert_eq!(d.level_of("my_app", None), Some(Level::Info));
        assert!(Directives::parse("my_app=loud").unwrap_err().0.contains("loud"));
        assert!(Directives::parse("my app=info").is_err());
        assert_eq!(Directives::parse("").unwrap(), Directives::default());
    }
}
