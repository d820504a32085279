//! The pretty console format: a record as a developer reads it on a
//! terminal, in the spirit of pino-pretty, written by [`sink::Pretty`]
//! (from captured records, on the writer thread) and by the
//! `logjet-pretty` command (from NDJSON lines). Both go through the one
//! [`Renderer`], so a record looks the same either way.
//!
//! ```text
//! [14:40:00.123] INFO  (app:db) request handled method=GET path=/api/v1/users status=200 cached=false
//!     sql:
//!       SELECT *
//!       FROM users
//!     err: std::io::error::Error: connection reset
//!       code=ECONNRESET
//!       caused by: broken pipe
//! ```
//!
//! The first line: the time, the level (pino-pretty's colours), the
//! namespace of a debug handle's record, the message's first line, then
//! each field as `key=value`: strings bare unless they need quotes (empty,
//! spaces, `"`, `=`, `\`, control characters, or text that would read as
//! a number, `true`, `false`, `null` or JSON), numbers and booleans bare,
//! nested values as compact JSON. Indented lines follow for what does not
//! fit on one line: the message's further lines, string values with
//! newlines, and errors (`err` or `error` objects with a `message` or a
//! `stack`: type and message, other members, the `source` chain or the
//! `cause` chain, the stack).
//!
//! Control characters never reach the terminal as they are: they are
//! written escaped (`\u001b`, `\r`), so a record cannot forge another
//! line or drive the terminal. Tabs in messages and multi-line values are
//! kept.
//!
//! [`sink::Pretty`]: crate::sink::Pretty

use std::borrow::Cow;
use std::ops::Range;

use chrono::{DateTime, Local, TimeZone, Utc};

use crate::format::escape::{escape_into, unescape_json_string, write_str};
use crate::format::json::{is_reserved, skip_value, split_members, write_val};
use crate::format::unique_keys::{key_bit, plan, Seen, Skips};
use crate::level::Level;
use crate::record::{Item, Items, KeyTable, Out, RecordRef, Val};

/// How the time of a record is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Time {
    /// Local time of day with milliseconds, `21:22:00.123`: pino-pretty's
    /// `--translateTime SYS:HH:MM:ss.l`.
    #[default]
    Local,
    /// UTC time of day with milliseconds, `20:22:00.123`: pino-pretty's
    /// default.
    Utc,
    /// RFC 3339 in UTC, `2026-11-21T20:22:00.123Z`.
    Rfc3339,
    /// RFC 3339 in the local time zone, `2026-11-21T21:22:00.123+01:00`.
    Rfc3339Local,
    /// No time.
    Omit,
}

/// How pretty lines look: colours on or off, and the time.
///
/// ```
/// use logjet::pretty::{Style, Time};
///
/// let style = Style::new().colors(true).time(Time::Utc);
/// assert!(style.has_colors());
/// assert_eq!(style.time_format(), Time::Utc);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    colors: bool,
    time: Time,
}

impl Style {
    /// No colours, local time.
    pub fn new() -> Style {
        Style::default()
    }

    /// ANSI colours on or off.
    pub fn colors(mut self, yes: bool) -> Style {
        self.colors = yes;
        self
    }

    /// How the time is shown.
    pub fn time(mut self, time: Time) -> Style {
        self.time = time;
        self
    }

    /// Whether colours are on.
    pub fn has_colors(&self) -> bool {
        self.colors
    }

    /// How the time is shown.
    pub fn time_format(&self) -> Time {
        self.time
    }
}

/// The time of a record, as its source has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp<'a> {
    /// Milliseconds since the Unix epoch (pino's `time`).
    Millis(i64),
    /// A time as text: an RFC 3339 string is shown in the style's format,
    /// anything else as it is.
    Text(&'a str),
    /// The record has no time.
    None,
}

/// The level of a record, as its source has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelLabel<'a> {
    /// One of pino's six levels: shown in upper case, in its colour.
    Level(Level),
    /// Any other level (a custom number or name): shown as it is.
    Other(&'a str),
    /// The record has no level.
    None,
}

const LABELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
/// pino-pretty's level colours (colorette): gray, blue, green, yellow, red,
/// and a red background for fatal.
const LEVEL_ON: [&[u8]; 6] = [b"\x1b[90m", b"\x1b[34m", b"\x1b[32m", b"\x1b[33m", b"\x1b[31m", b"\x1b[41m"];
const LEVEL_OFF: [&[u8]; 6] = [b"\x1b[39m", b"\x1b[39m", b"\x1b[39m", b"\x1b[39m", b"\x1b[39m", b"\x1b[49m"];
/// pino-pretty's: cyan messages, magenta keys.
const MSG_ON: &[u8] = b"\x1b[36m";
const KEY_ON: &[u8] = b"\x1b[35m";
const ERR_ON: &[u8] = b"\x1b[31m";
const DIM_ON: &[u8] = b"\x1b[90m";
const FG_OFF: &[u8] = b"\x1b[39m";
const BOLD_ON: &[u8] = b"\x1b[1m";
const BOLD_OFF: &[u8] = b"\x1b[22m";

/// Indentation of the lines that follow a record's first line, and of
/// the lines inside a block (a multi-line value, an error).
const INDENT: &[u8] = b"    ";
const INNER: &[u8] = b"      ";
/// How deep a `cause` chain is followed.
const MAX_CAUSES: usize = 32;

/// Writes records in the pretty format, one part at a time: [`begin`]
/// with the record's time, level, namespace and message, [`field`] for
/// each field, [`end`]. The lines that follow the first one (a multi-line
/// message or value, errors) are kept until [`end`].
///
/// ```
/// use logjet::pretty::{LevelLabel, Renderer, Stamp, Style, Time};
/// use logjet::Level;
///
/// let mut r = Renderer::new(Style::new().time(Time::Utc));
/// let mut out = Vec::new();
/// r.begin(&mut out, Stamp::Millis(1_732_200_000_123), LevelLabel::Level(Level::Info), None, "request handled");
/// r.field(&mut out, "method", r#""GET""#);
/// r.field(&mut out, "status", "200");
/// r.field(&mut out, "user", r#"{"id":7,"name":"Ann Lee"}"#);
/// r.end(&mut out);
/// assert_eq!(
///     String::from_utf8(out)?,
///     "[14:40:00.123] INFO  request handled method=GET status=200 user={\"id\":7,\"name\":\"Ann Lee\"}\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`begin`]: Renderer::begin
/// [`field`]: Renderer::field
/// [`end`]: Renderer::end
#[derive(Clone, Debug)]
pub struct Renderer {
    style: Style,
    clock: Clock,
    /// The message's further lines, each ending in a newline.
    msg_tail: Vec<u8>,
    /// The lines of the fields that do not fit on the first one (after
    /// the message's), each ending in a newline.
    tail: Vec<u8>,
    /// The first line has a part: the next one needs a space first.
    started: bool,
    /// Spaces owed after a level label, so that messages line up.
    pad: usize,
}

/// A key as it is to be shown.
#[derive(Clone, Copy)]
struct KeyText<'a> {
    text: &'a [u8],
    /// Shown with one more leading underscore (a reserved key, renamed
    /// as the NDJSON line renames it).
    underscore: bool,
    /// Known to need no quotes.
    plain: bool,
}

impl<'a> KeyText<'a> {
    fn of(text: &'a [u8]) -> KeyText<'a> {
        KeyText { text, underscore: false, plain: false }
    }

    fn is_error(&self) -> bool {
        !self.underscore && matches!(self.text, b"err" | b"error")
    }
}

impl Renderer {
    /// A renderer for `style`.
    pub fn new(style: Style) -> Renderer {
        Renderer {
            style,
            clock: Clock::new(style.time),
            msg_tail: Vec::new(),
            tail: Vec::new(),
            started: false,
            pad: 0,
        }
    }

    /// The style it renders with.
    pub fn style(&self) -> Style {
        self.style
    }

    /// Starts a record: its time, level, namespace (`ns`, from a debug
    /// handle) and message.
    pub fn begin(&mut self, out: &mut Vec<u8>, time: Stamp<'_>, level: LevelLabel<'_>, ns: Option<&str>, msg: &str) {
        self.begin_out(out, time, level, ns.map(str::as_bytes), msg.as_bytes())
    }

    /// Adds a field: its key and its value as JSON text (`"text"`, `42`,
    /// `true`, `null`, `{"a":[1]}`). An `err` or `error` object with a
    /// `message` or a `stack` is shown as an error; text that is not JSON
    /// is shown as it is (escaped).
    pub fn field(&mut self, out: &mut Vec<u8>, key: &str, json: &str) {
        self.json_field(out, KeyText::of(key.as_bytes()), json.as_bytes())
    }

    /// Ends the record: its first line, then the lines that follow it.
    pub fn end(&mut self, out: &mut Vec<u8>) {
        self.end_out(out)
    }

    /// A space before the next part of the first line (and the label's
    /// padding), unless it is the first part.
    #[inline]
    fn sep<O: Out + ?Sized>(&mut self, out: &mut O) {
        if self.started {
            out.extend(&b"      "[..1 + self.pad.min(5)]);
        }
        self.started = true;
        self.pad = 0;
    }

    #[inline]
    fn on<O: Out + ?Sized>(&self, out: &mut O, code: &[u8]) {
        if self.style.colors {
            out.extend(code);
        }
    }

    pub(crate) fn begin_out<O: Out + ?Sized>(
        &mut self,
        out: &mut O,
        time: Stamp<'_>,
        level: LevelLabel<'_>,
        ns: Option<&[u8]>,
        msg: &[u8],
    ) {
        self.tail.clear();
        self.header(out, time, level, ns, msg);
    }

    /// Fields will be written on their own (into a buffer of their own,
    /// each after one space) before the [`header`](Renderer::header).
    fn fields_first(&mut self) {
        self.tail.clear();
        self.started = true;
        self.pad = 0;
    }

    /// The first line's start; the message's further lines are kept.
    fn header<O: Out + ?Sized>(
        &mut self,
        out: &mut O,
        time: Stamp<'_>,
        level: LevelLabel<'_>,
        ns: Option<&[u8]>,
        msg: &[u8],
    ) {
        self.msg_tail.clear();
        self.started = false;
        self.pad = 0;
        if self.style.time != Time::Omit {
            let ms = match time {
                Stamp::Millis(ms) => Some(Ok(ms)),
                Stamp::Text(t) => match DateTime::parse_from_rfc3339(t.trim()) {
                    Ok(d) => Some(Ok(d.timestamp_millis())),
                    Err(_) if t.is_empty() => None,
                    Err(_) => Some(Err(t)),
                },
                Stamp::None => None,
            };
            if let Some(ms) = ms {
                self.sep(out);
                out.push(b'[');
                match ms {
                    Ok(ms) => self.clock.write(out, ms),
                    Err(text) => write_line(out, text.as_bytes(), false),
                }
                out.push(b']');
            }
        }
        match level {
            LevelLabel::Level(l) => {
                self.sep(out);
                let i = l.index();
                self.on(out, LEVEL_ON[i]);
                out.extend(LABELS[i].as_bytes());
                self.on(out, LEVEL_OFF[i]);
                self.pad = 5 - LABELS[i].len();
            }
            LevelLabel::Other(t) => {
                self.sep(out);
                write_line(out, t.as_bytes(), false);
            }
            LevelLabel::None => {}
        }
        if let Some(ns) = ns {
            self.sep(out);
            out.push(b'(');
            self.on(out, BOLD_ON);
            write_line(out, ns, false);
            self.on(out, BOLD_OFF);
            out.push(b')');
        }
        let mut lines = Lines::new(msg);
        if let Some(first) = lines.next() {
            if !first.is_empty() {
                self.sep(out);
                self.on(out, MSG_ON);
                write_line(out, first, true);
                self.on(out, FG_OFF);
            }
            for line in lines {
                self.msg_tail.extend_from_slice(INDENT);
                if self.style.colors {
                    self.msg_tail.extend_from_slice(MSG_ON);
                }
                write_line(&mut self.msg_tail, line, true);
                if self.style.colors {
                    self.msg_tail.extend_from_slice(FG_OFF);
                }
                self.msg_tail.push(b'\n');
            }
        }
    }

    pub(crate) fn end_out<O: Out + ?Sized>(&mut self, out: &mut O) {
        out.push(b'\n');
        out.extend(&self.msg_tail);
        out.extend(&self.tail);
        self.msg_tail.clear();
        self.tail.clear();
    }

    /// `key=` on the first line.
    #[inline]
    fn key_eq<O: Out + ?Sized>(&mut self, out: &mut O, key: KeyText<'_>) {
        self.sep(out);
        write_key(out, key, self.style.colors);
        out.push(b'=');
    }

    /// A captured value.
    #[inline]
    fn val_field<O: Out + ?Sized>(&mut self, out: &mut O, key: KeyText<'_>, v: Val<'_>) {
        match v {
            Val::Str(s) => self.text_field(out, key, s),
            Val::Bytes(b) => self.text_field(out, key, String::from_utf8_lossy(b).as_bytes()),
            Val::Json(j) => self.json_field(out, key, j),
            // Numbers, booleans and null as in the JSON line (NaN and the
            // infinities are the strings "NaN", …: shown quoted, as such
            // strings are).
            scalar @ (Val::I64(_)
            | Val::U64(_)
            | Val::I128(_)
            | Val::U128(_)
            | Val::F64(_)
            | Val::Bool(_)
            | Val::Null) => {
                self.key_eq(out, key);
                write_val(out, scalar)
            }
        }
    }

    /// A value given as JSON text.
    fn json_field<O: Out + ?Sized>(&mut self, out: &mut O, key: KeyText<'_>, json: &[u8]) {
        let j = json.trim_ascii();
        match j.first() {
            Some(b'"') => match string_literal(j) {
                Some(s) => self.text_field(out, key, &s),
                None => {
                    self.key_eq(out, key);
                    write_line(out, j, false)
                }
            },
            Some(b'{') if key.is_error() && self.error(key, j) => {}
            _ => {
                // Numbers, true, false, null, arrays and objects: the JSON
                // text, compact as it comes, escaped where a terminal
                // would act on it.
                self.key_eq(out, key);
                write_line(out, j, false)
            }
        }
    }

    /// A string value (valid UTF-8): bare, quoted, or a block of lines.
    fn text_field<O: Out + ?Sized>(&mut self, out: &mut O, key: KeyText<'_>, s: &[u8]) {
        if !s.contains(&b'\n') {
            self.key_eq(out, key);
            if needs_quotes(s) {
                write_str(out, s);
            } else {
                out.extend(s);
            }
            return;
        }
        let colors = self.style.colors;
        self.tail.extend_from_slice(INDENT);
        write_key(&mut self.tail, key, colors);
        self.tail.extend_from_slice(b":\n");
        for line in Lines::new(s) {
            self.tail.extend_from_slice(INNER);
            write_line(&mut self.tail, line, true);
            self.tail.push(b'\n');
        }
    }

    /// An error object (`json`, starting with `{`) in the lines after the
    /// first; false (nothing written) when it has neither a `message` nor
    /// a `stack`.
    fn error(&mut self, key: KeyText<'_>, json: &[u8]) -> bool {
        let Some(members) = object_members(json) else { return false };
        let get = |name: &[u8]| members.iter().find(|(k, _)| literal_is(k, name)).map(|&(_, v)| v);
        let message = get(b"message");
        let stack = get(b"stack");
        if message.is_none() && stack.is_none() {
            return false;
        }
        let colors = self.style.colors;
        let mut tail = std::mem::take(&mut self.tail);
        tail.extend_from_slice(INDENT);
        write_key(&mut tail, key, colors);
        tail.extend_from_slice(b": ");
        let message_text = message.map(json_text);
        error_head(&mut tail, get(b"type").or_else(|| get(b"name")), message_text.as_deref(), colors);
        // The other members, on one line.
        let mut open = false;
        for &(k, v) in &members {
            let skip = [&b"type"[..], b"name", b"message", b"stack", b"source", b"cause"];
            if skip.iter().any(|s| literal_is(k, s)) {
                continue;
            }
            tail.extend_from_slice(if open { b" " } else { INNER });
            open = true;
            let name = string_literal(k).unwrap_or(Cow::Borrowed(k));
            write_key(&mut tail, KeyText::of(&name), colors);
            tail.push(b'=');
            inline_json(&mut tail, v);
        }
        if open {
            tail.push(b'\n');
        }
        // Rust's source chain: an array of messages.
        if let Some(src) = get(b"source").filter(|s| s.starts_with(b"[")) {
            for item in array_items(src) {
                tail.extend_from_slice(INNER);
                tail.extend_from_slice(b"caused by: ");
                write_line(&mut tail, &json_text(item), false);
                tail.push(b'\n');
            }
        }
        // JavaScript's cause chain: nested errors (or any value).
        let mut cause = get(b"cause");
        let mut depth = 0;
        while let Some(c) = cause.take() {
            if depth == MAX_CAUSES {
                break;
            }
            depth += 1;
            tail.extend_from_slice(INNER);
            tail.extend_from_slice(b"caused by: ");
            match object_members(c) {
                Some(m) => {
                    let get = |name: &[u8]| m.iter().find(|(k, _)| literal_is(k, name)).map(|&(_, v)| v);
                    let text = get(b"message").map(json_text);
                    error_head(&mut tail, get(b"type").or_else(|| get(b"name")), text.as_deref(), colors);
                    cause = get(b"cause");
                }
                None => {
                    write_line(&mut tail, &json_text(c), false);
                    tail.push(b'\n');
                }
            }
        }
        if let Some(stack) = stack {
            let stack = json_text(stack);
            let mut stack: &[u8] = stack.trim_ascii_start();
            // A JavaScript stack starts with "Type: message", shown already.
            if let Some(msg) = message_text.as_deref().filter(|m| !m.is_empty()) {
                let kind = get(b"type").or_else(|| get(b"name")).map(json_text);
                let mut head = kind.map(|k| [&k[..], b": "].concat()).unwrap_or_default();
                head.extend_from_slice(msg);
                for prefix in [&head[..], msg, &[b"Error: ", msg].concat()[..]] {
                    if let Some(rest) = stack.strip_prefix(prefix).filter(|r| r.is_empty() || r[0] == b'\n') {
                        stack = rest.strip_prefix(b"\n").unwrap_or(rest);
                        break;
                    }
                }
            }
            for line in Lines::new(stack).filter(|l| !l.trim_ascii().is_empty()) {
                tail.extend_from_slice(INNER);
                if colors {
                    tail.extend_from_slice(DIM_ON);
                }
                write_line(&mut tail, line.trim_ascii_start(), true);
                if colors {
                    tail.extend_from_slice(FG_OFF);
                }
                tail.push(b'\n');
            }
        }
        self.tail = tail;
        true
    }
}

/// `Type: message` of an error (its further lines indented), in red, and
/// a newline.
fn error_head(tail: &mut Vec<u8>, kind: Option<&[u8]>, message: Option<&[u8]>, colors: bool) {
    if colors {
        tail.extend_from_slice(ERR_ON);
    }
    if let Some(kind) = kind {
        write_line(tail, &json_text(kind), false);
        if message.is_some() {
            tail.extend_from_slice(b": ");
        }
    }
    let mut rest = None;
    if let Some(m) = message {
        let mut lines = Lines::new(m);
        if let Some(first) = lines.next() {
            write_line(tail, first, true);
        }
        rest = Some(lines);
    }
    if colors {
        tail.extend_from_slice(FG_OFF);
    }
    tail.push(b'\n');
    for line in rest.into_iter().flatten() {
        tail.extend_from_slice(INNER);
        write_line(tail, line, true);
        tail.push(b'\n');
    }
}

/// The lines of a text: split at `\n`, a `\r` before it dropped, a last
/// empty line (after a final newline) left out.
struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Lines<'a> {
    fn new(s: &'a [u8]) -> Lines<'a> {
        let s = s.strip_suffix(b"\n").map_or(s, |s| s.strip_suffix(b"\r").unwrap_or(s));
        Lines { rest: Some(s) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let s = self.rest?;
        match s.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.rest = Some(&s[i + 1..]);
                Some(s[..i].strip_suffix(b"\r").unwrap_or(&s[..i]))
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

/// The text of a JSON string literal (borrowed when it has no escapes),
/// or `None` when `j` is not one.
fn string_literal(j: &[u8]) -> Option<Cow<'_, [u8]>> {
    let inner = j.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !inner.contains(&b'\\') && !inner.contains(&b'"') {
        return Some(Cow::Borrowed(inner));
    }
    unescape_json_string(j).map(|s| Cow::Owned(s.into_bytes()))
}

/// A JSON value as text: a string's contents, anything else as it is.
fn json_text(j: &[u8]) -> Cow<'_, [u8]> {
    let j = j.trim_ascii();
    match j.first() {
        Some(b'"') => string_literal(j).unwrap_or(Cow::Borrowed(j)),
        _ => Cow::Borrowed(j),
    }
}

/// A value inside an error's line: a string bare or quoted, anything else
/// as its JSON text.
fn inline_json(out: &mut Vec<u8>, v: &[u8]) {
    let v = v.trim_ascii();
    match v.first().and_then(|&b| (b == b'"').then(|| string_literal(v)).flatten()) {
        Some(s) if !needs_quotes(&s) => out.extend_from_slice(&s),
        Some(s) => write_str(out, &s),
        None => write_line(out, v, false),
    }
}

/// Whether the JSON string literal `lit` is the key `name`.
fn literal_is(lit: &[u8], name: &[u8]) -> bool {
    lit.len() == name.len() + 2 && &lit[1..lit.len() - 1] == name
}

/// The members of a JSON object's text (key literal, value text), or
/// `None` when it is not an object.
fn object_members(j: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let inner = j.trim_ascii().strip_prefix(b"{")?.strip_suffix(b"}")?;
    Some(split_members(inner.trim_ascii()))
}

/// The items of a JSON array's text.
fn array_items(j: &[u8]) -> Vec<&[u8]> {
    let Some(inner) = j.trim_ascii().strip_prefix(b"[").and_then(|j| j.strip_suffix(b"]")) else {
        return Vec::new();
    };
    let mut items = Vec::new();
    let mut i = 0;
    while i < inner.len() {
        let end = skip_value(inner, i);
        let item = inner[i..end].trim_ascii();
        if !item.is_empty() {
            items.push(item);
        }
        i = end + 1;
    }
    items
}

/// A key: bare when it can be, quoted as JSON otherwise; magenta with
/// colours.
fn write_key<O: Out + ?Sized>(out: &mut O, key: KeyText<'_>, colors: bool) {
    if colors {
        out.extend(KEY_ON);
    }
    if key.plain || !key_needs_quotes(key.text) {
        if key.underscore {
            out.push(b'_');
        }
        out.extend(key.text);
    } else {
        out.push(b'"');
        if key.underscore {
            out.push(b'_');
        }
        escape_into(out, key.text);
        out.push(b'"');
    }
    if colors {
        out.extend(FG_OFF);
    }
}

/// Whether a byte may stand in a bare key or value: printable ASCII other
/// than space, `"`, `=`, `\`.
const fn bare_byte(b: u8) -> bool {
    b > b' ' && b < 0x7F && b != b'"' && b != b'=' && b != b'\\'
}

/// Whether a character outside ASCII needs quotes: whitespace, controls,
/// and the invisible characters that reorder or hide text.
fn odd_char(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn key_needs_quotes(k: &[u8]) -> bool {
    if k.is_empty() {
        return true;
    }
    if k.iter().all(|&b| bare_byte(b)) {
        return false;
    }
    if k.iter().any(|&b| b < 0x80 && !bare_byte(b)) {
        return true;
    }
    String::from_utf8_lossy(k).chars().any(|c| c == '\u{FFFD}' || odd_char(c))
}

/// Whether a string value is written quoted: when it is empty, has a byte
/// that is not bare, or would read as something else (a number, `true`,
/// `false`, `null`, JSON).
fn needs_quotes(s: &[u8]) -> bool {
    if key_needs_quotes(s) {
        return true;
    }
    match s[0] {
        b'{' | b'[' => true,
        b'0'..=b'9' | b'-' | b'+' | b'.' | b'i' | b'I' | b'n' | b'N' => {
            s == b"null" || std::str::from_utf8(s).is_ok_and(|t| t.parse::<f64>().is_ok())
        }
        b't' | b'f' => s == b"true" || s == b"false",
        _ => false,
    }
}

/// Text for a terminal line: printable text as it is, every control
/// character (C0, DEL, C1) and U+2028/9 escaped as JSON escapes them,
/// tabs kept when `tabs`; invalid UTF-8 replaced by U+FFFD.
#[inline]
fn write_line<O: Out + ?Sized>(out: &mut O, s: &[u8], tabs: bool) {
    if s.iter().all(|&b| (0x20..0x7F).contains(&b) || (tabs && b == b'\t')) {
        out.extend(s);
        return;
    }
    write_line_slow(out, s, tabs)
}

#[cold]
fn write_line_slow<O: Out + ?Sized>(out: &mut O, s: &[u8], tabs: bool) {
    for chunk in s.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            let n = u32::from(c);
            let control =
                (n < 0x20 && !(tabs && c == '\t')) || (0x7F..=0x9F).contains(&n) || n == 0x2028 || n == 0x2029;
            if control {
                out.extend(&valid.as_bytes()[start..i]);
                escape_into(out, c.encode_utf8(&mut [0; 4]).as_bytes());
                start = i + c.len_utf8();
            }
        }
        out.extend(&valid.as_bytes()[start..]);
        if !chunk.invalid().is_empty() {
            out.extend("\u{fffd}".as_bytes());
        }
    }
}

/// The time of day (or the whole date) of a record, cached per second.
#[derive(Clone, Debug)]
struct Clock {
    format: Time,
    sec: i64,
    /// `21:22:00` or `2026-11-21T21:22:00`.
    prefix: Vec<u8>,
    /// Empty, `Z` or `+01:00`.
    suffix: Vec<u8>,
}

impl Clock {
    fn new(format: Time) -> Clock {
        Clock { format, sec: i64::MIN, prefix: Vec::new(), suffix: Vec::new() }
    }

    fn write<O: Out + ?Sized>(&mut self, out: &mut O, ms: i64) {
        let sec = ms.div_euclid(1000);
        if sec != self.sec {
            self.refresh(sec);
        }
        let m = ms.rem_euclid(1000) as u32;
        out.extend(&self.prefix);
        out.extend(&[b'.', b'0' + (m / 100) as u8, b'0' + (m / 10 % 10) as u8, b'0' + (m % 10) as u8]);
        out.extend(&self.suffix);
    }

    #[cold]
    fn refresh(&mut self, sec: i64) {
        self.sec = sec;
        let utc: DateTime<Utc> = DateTime::from_timestamp(sec, 0).unwrap_or_default();
        let local = || Local.from_utc_datetime(&utc.naive_utc());
        let (prefix, suffix) = match self.format {
            Time::Local | Time::Omit => (local().format("%H:%M:%S").to_string(), String::new()),
            Time::Utc => (utc.format("%H:%M:%S").to_string(), String::new()),
            Time::Rfc3339 => (utc.format("%Y-%m-%dT%H:%M:%S").to_string(), "Z".to_string()),
            Time::Rfc3339Local => {
                let l = local();
                (l.format("%Y-%m-%dT%H:%M:%S").to_string(), l.format("%:z").to_string())
            }
        };
        self.prefix = prefix.into_bytes();
        self.suffix = suffix.into_bytes();
    }
}

/// The writer thread's formatter for [`sink::Pretty`](crate::sink::Pretty):
/// every record, from its captured items.
pub(crate) struct PrettyFormat {
    r: Renderer,
    keys: KeyTable,
    /// The record's fields (` key=value` each), written in the pass that
    /// finds the message and the namespace, which come after them.
    fields: Vec<u8>,
    /// The record's message (a copy: a call site's message is not in the
    /// record's bytes).
    msg: Vec<u8>,
}

impl PrettyFormat {
    pub(crate) fn new(style: Style) -> PrettyFormat {
        PrettyFormat {
            r: Renderer::new(style),
            keys: KeyTable::default(),
            fields: Vec::with_capacity(256),
            msg: Vec::with_capacity(64),
        }
    }

    /// Appends the record's lines. No key is shown twice (see
    /// [`crate::format::unique_keys`]): a record that repeats one has its
    /// fields written again without the replaced entries.
    pub(crate) fn format<O: Out>(&mut self, rec: &RecordRef<'_>, out: &mut O) {
        self.keys.refresh();
        let items = rec.bytes();
        let (ns, repeated) = self.write_fields(items, None);
        if repeated {
            if let Some(plan) = plan(items, &self.keys) {
                self.write_fields(items, Some(Skips::new(Some(&plan))));
            }
        }
        let time = match rec.time {
            0 => Stamp::None,
            t => Stamp::Millis(i64::try_from(t / 1_000_000).unwrap_or(i64::MAX)),
        };
        let ns = ns.and_then(|r| items.get(r));
        self.r.header(out, time, LevelLabel::Level(rec.level), ns, &self.msg);
        if let Some(rest) = self.fields.get(1..) {
            self.r.sep(out);
            out.extend(rest);
        }
        self.r.end_out(out);
    }

    /// Writes the fields into `self.fields` (those the record shows on
    /// indented lines into the renderer's tail), leaving out what `skips`
    /// says, and the message into `self.msg`. Returns where the namespace
    /// lies in `items` and whether a key may repeat.
    fn write_fields(&mut self, items: &[u8], mut skips: Option<Skips<'_>>) -> (Option<Range<usize>>, bool) {
        self.fields.clear();
        self.msg.clear();
        self.r.fields_first();
        let mut ns = None;
        // Where a part of `items` lies in it.
        let at = |part: &[u8]| {
            let start = (part.as_ptr() as usize).wrapping_sub(items.as_ptr() as usize);
            start..start.saturating_add(part.len())
        };
        let mut seen = Seen::default();
        let keys = &self.keys;
        let mut skip = || skips.as_mut().is_some_and(Skips::skip);
        for item in Items::with_keys(items, keys) {
            match item {
                Item::Field(k, v, framed) => {
                    seen.field(k, framed.map_or_else(|| key_bit(k), |f| f.bit), items, keys);
                    if skip() {
                        continue;
                    }
                    // An interned key is plain and not reserved.
                    let key =
                        KeyText { text: k, underscore: framed.is_none() && is_reserved(k), plain: framed.is_some() };
                    self.r.val_field(&mut self.fields, key, v);
                }
                Item::Bindings(b) => {
                    seen.bindings(b, items, keys);
                    for bound in Items::with_keys(b.items, keys) {
                        let Item::Field(k, v, framed) = bound else { continue };
                        if skip() {
                            continue;
                        }
                        let key = KeyText {
                            text: k,
                            underscore: framed.is_none() && is_reserved(k),
                            plain: framed.is_some(),
                        };
                        self.r.val_field(&mut self.fields, key, v);
                    }
                }
                Item::Ns(n) => ns = Some(at(n)),
                Item::Msg(m, _) => {
                    self.msg.clear();
                    self.msg.extend_from_slice(m);
                }
            }
        }
        (ns, seen.duplicate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Capture;
    use crate::record::ItemWriter as _;

    const T: u64 = 1_732_200_000_123_000_000;

    fn style(colors: bool) -> Style {
        Style::new().colors(colors).time(Time::Utc)
    }

    fn fmt(style: Style, c: &Capture) -> String {
        let mut f = PrettyFormat::new(style);
        let mut out = Vec::new();
        f.format(&c.as_ref(), &mut out);
        String::from_utf8(out).unwrap()
    }

    fn sample() -> Capture {
        let mut c = Capture::new(Level::Info, T);
        crate::logger::Bindings::of(|c| {
            c.u64("request_id", 42);
            c.str("we ird", "a,b");
            c.json_with("o", |c| {
                c.extend(b"{\"x\":[1,2]}");
                Ok(())
            });
        })
        .capture(&mut c);
        c.str("host", "db1");
        c.u64("pool", 8);
        c.f64("ratio", 0.5);
        c.bool("ok", true);
        c.str("empty", "");
        c.str("spaced", "a b");
        c.str("num", "200");
        c.null("none");
        c.msg("connected");
        c
    }

    #[test]
    fn one_line_without_colours() {
        assert_eq!(
            fmt(style(false), &sample()),
            "[14:40:00.123] INFO  connected request_id=42 \"we ird\"=a,b o={\"x\":[1,2]} host=db1 pool=8 \
             ratio=0.5 ok=true empty=\"\" spaced=\"a b\" num=\"200\" none=null\n"
        );
    }

    #[test]
    fn colours_are_pino_prettys() {
        let out = fmt(style(true), &sample());
        assert!(out.starts_with("[14:40:00.123] \x1b[32mINFO\x1b[39m  \x1b[36mconnected\x1b[39m "), "{out:?}");
        assert!(out.contains(" \x1b[35mhost\x1b[39m=db1 "), "{out:?}");
        let labels: Vec<String> = Level::ALL
            .iter()
            .map(|&l| {
                let mut c = Capture::new(l, T);
                c.msg("m");
                fmt(style(true), &c)
            })
            .collect();
        for (l, code) in labels.iter().zip(["90m", "34m", "32m", "33m", "31m", "41m"]) {
            assert!(l.contains(&format!("\x1b[{code}")), "{l:?}");
        }
        assert!(labels[5].contains("FATAL\x1b[49m"));
        // Without colours, not one escape sequence.
        assert!(!fmt(style(false), &sample()).contains('\x1b'));
    }

    #[test]
    fn time_formats() {
        let mut c = Capture::new(Level::Warn, T);
        c.msg("m");
        assert!(fmt(Style::new().time(Time::Rfc3339), &c).starts_with("[2024-11-21T14:40:00.123Z] WARN  m\n"));
        assert_eq!(fmt(Style::new().time(Time::Omit), &c), "WARN  m\n");
        let local = fmt(Style::new(), &c);
        let expected = Local.timestamp_millis_opt(1_732_200_000_123).unwrap().format("[%H:%M:%S%.3f]").to_string();
        assert!(local.starts_with(&expected), "{local} vs {expected}");
        let iso_local = fmt(Style::new().time(Time::Rfc3339Local), &c);
        let stamp = iso_local.trim_start_matches('[').split(']').next().unwrap();
        assert_eq!(DateTime::parse_from_rfc3339(stamp).unwrap().timestamp_millis(), 1_732_200_000_123);
        // A record without a time (TimeFormat::Omit on the logger).
        let mut c = Capture::new(Level::Info, 0);
        c.msg("m");
        assert_eq!(fmt(style(false), &c), "INFO  m\n");
    }

    #[test]
    fn error_chain_and_stack_on_indented_lines() {
        let mut c = Capture::new(Level::Error, T);
        let inner = std::io::Error::other("root cause");
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("query failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        crate::value::capture_error(&mut c, "err".into(), "app::Outer", &Outer(inner));
        c.json_with("error", |c| {
            c.extend(
                br#"{"type":"TypeError","message":"bad\nthing","stack":"TypeError: bad\nthing\n    at f (x.js:1:2)\n    at g (y.js:3:4)","code":"E1","cause":{"type":"Error","message":"deeper"}}"#,
            );
            Ok(())
        });
        c.i64("user", 7);
        c.msg("db failed");
        let out = fmt(style(false), &c);
        assert_eq!(
            out,
            "[14:40:00.123] ERROR db failed user=7\n\
             \x20   err: app::Outer: query failed\n\
             \x20     caused by: root cause\n\
             \x20   error: TypeError: bad\n\
             \x20     thing\n\
             \x20     code=E1\n\
             \x20     caused by: Error: deeper\n\
             \x20     at f (x.js:1:2)\n\
             \x20     at g (y.js:3:4)\n"
        );
        let coloured = fmt(style(true), &c);
        assert!(coloured.contains("\x1b[31mapp::Outer: query failed\x1b[39m"), "{coloured:?}");
    }

    #[test]
    fn multi_line_message_and_values_are_indented() {
        let mut c = Capture::new(Level::Info, T);
        c.str("sql", "SELECT *\r\nFROM t\n");
        c.str("after", "x");
        c.msg("first\nsecond\n\tthird");
        assert_eq!(
            fmt(style(false), &c),
            "[14:40:00.123] INFO  first after=x\n    second\n    \tthird\n    sql:\n      SELECT *\n      FROM t\n"
        );
    }

    #[test]
    fn a_key_is_shown_once() {
        let mut c = Capture::new(Level::Info, T);
        crate::logger::Bindings::of(|c| {
            c.str("dup", "bound");
            c.i64("other", 1);
        })
        .capture(&mut c);
        c.str("dup", "field");
        c.i64("rep", 1);
        c.i64("rep", 2);
        c.i64("level", 3);
        c.msg("m");
        assert_eq!(fmt(style(false), &c), "[14:40:00.123] INFO  m other=1 dup=field rep=2 _level=3\n");
    }

    #[test]
    fn unicode_is_kept() {
        let mut c = Capture::new(Level::Info, T);
        c.str("名前", "日本語");
        c.str("emoji", "😀é");
        c.str("nbsp", "a\u{a0}b");
        c.str("rtl", "a\u{202e}b");
        c.bytes_lossy("raw", b"ok\xff");
        c.msg("héllo wörld 🎉");
        assert_eq!(
            fmt(style(false), &c),
            "[14:40:00.123] INFO  héllo wörld 🎉 名前=日本語 emoji=😀é nbsp=\"a\u{a0}b\" rtl=\"a\u{202e}b\" raw=\"ok\u{fffd}\"\n"
        );
    }

    #[test]
    fn control_characters_cannot_forge_lines_or_drive_the_terminal() {
        let evil = "a\rb\x1b[2J\x07\u{85}\u{9b}31m\u{2028}\x7f";
        let mut c = Capture::new(Level::Info, T);
        c.ns(evil);
        c.str(evil, evil);
        c.str("ml", "x\n\x1b[31m{\"level\":60}");
        c.json_with("j", |c| {
            c.extend("[\"\u{9b}\"]".as_bytes());
            Ok(())
        });
        c.msg(&format!("{evil}\n[14:40:00.124] FATAL forged"));
        let out = fmt(style(false), &c);
        for bad in ['\r', '\x1b', '\x07', '\u{85}', '\u{9b}', '\u{2028}', '\x7f'] {
            assert!(!out.contains(bad), "{bad:?} in {out:?}");
        }
        // Every line after the first is indented: none can pass for a record.
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[1..].iter().all(|l| l.starts_with("    ")), "{out}");
        assert!(lines[0].starts_with("[14:40:00.123] INFO  (a\\rb\\u001b[2J\\u0007\\u0085\\u009b31m\\u2028\\u007f) "));
    }

    #[test]
    fn renderer_from_json_text() {
        let mut r = Renderer::new(style(false));
        let mut out = Vec::new();
        r.begin(&mut out, Stamp::Text("2024-11-21T15:40:00.123+01:00"), LevelLabel::Other("35"), Some("a:b"), "");
        r.field(&mut out, "s", r#""esc\"aped \u00e9 \ud83d\ude00""#);
        r.field(&mut out, "t", r#""true""#);
        r.field(&mut out, "n", "-1.5e3");
        r.field(&mut out, "bad", "not json\u{1b}");
        r.field(&mut out, "err", r#"{"no":"message"}"#);
        r.end(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[14:40:00.123] 35 (a:b) s=\"esc\\\"aped é 😀\" t=\"true\" n=-1.5e3 bad=not json\\u001b err={\"no\":\"message\"}\n"
        );
        let mut out = Vec::new();
        r.begin(&mut out, Stamp::Text("yesterday"), LevelLabel::None, None, "m");
        r.end(&mut out);
        assert_eq!(out, b"[yesterday] m\n");
    }
}
