//! Call sites: what a logging macro's call site knows at compile time
//! (its message, when that is a literal without arguments, and its keys),
//! registered once per call site. A record from a macro carries its site's
//! id, then only values: each plain key as its index in the site's list,
//! the message not at all. The writer takes them from its copy of the
//! registry (`record::KeyTable`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use super::intern::{is_plain, Framed};
use super::registry::Registry;

/// A logging macro's call site (a `static` the macros make): its message
/// when it is a literal without arguments, and the `,"key":` text of each
/// of its fields, in order. Registered on its first record.
#[doc(hidden)]
pub struct Site {
    msg: Option<&'static str>,
    /// `,"key":` for each field (only the plain keys' are used).
    keys: &'static [&'static str],
    /// 0 until registered.
    id: AtomicU32,
    data: OnceLock<SiteData>,
}

/// A registered call site as the writer sees it.
#[derive(Debug, PartialEq)]
pub(crate) struct SiteData {
    /// The message, when the call site's is a plain literal.
    pub(crate) msg: Option<&'static [u8]>,
    /// Each field's key by its index: `None` for a key the record carries
    /// as text (not plain).
    pub(crate) keys: Box<[Option<Framed>]>,
    /// The message as the NDJSON formatter writes it (`,"msg":"…"}`),
    /// made by the first formatter that asks.
    msg_member: OnceLock<Box<[u8]>>,
    /// The bits of its keys (`format::unique_keys`), when no two of them
    /// share one: then no two of its fields can repeat a key, and a
    /// formatter checks them against earlier keys all at once.
    pub(crate) distinct_mask: Option<u64>,
}

impl SiteData {
    fn new(msg: Option<&'static [u8]>, keys: Box<[Option<Framed>]>) -> SiteData {
        let mut mask = Some(0u64);
        for f in keys.iter().flatten() {
            mask = mask.filter(|m| m & f.bit == 0).map(|m| m | f.bit);
        }
        SiteData { msg, keys, msg_member: OnceLock::new(), distinct_mask: mask }
    }

    /// The site's message as the NDJSON formatter writes it (encoded by
    /// `encode`, once per call site), when the site has its message.
    #[inline]
    pub(crate) fn msg_member(&self, encode: impl FnOnce(&[u8]) -> Vec<u8>) -> Option<&[u8]> {
        let msg = self.msg?;
        Some(self.msg_member.get_or_init(|| encode(msg).into_boxed_slice()))
    }
}

impl Site {
    /// A call site with message `msg` (`None`: each record carries its
    /// own) and fields keyed `keys` (`,"key":` each).
    pub const fn new(msg: Option<&'static str>, keys: &'static [&'static str]) -> Site {
        Site { msg, keys, id: AtomicU32::new(0), data: OnceLock::new() }
    }

    /// What the writer sees of the call site, once it is registered.
    #[inline]
    pub(crate) fn data(&'static self) -> Option<&'static SiteData> {
        self.data.get()
    }

    /// The call site's id, registering it on first use. Acquire (a plain
    /// load on x86): whoever reads the id, then hands a record to the
    /// writer, has the registration happen before, so the writer finds it.
    #[inline(always)]
    pub(crate) fn id(&'static self) -> u32 {
        match self.id.load(Ordering::Acquire) {
            0 => self.register(),
            id => id,
        }
    }

    #[cold]
    #[inline(never)]
    fn register(&'static self) -> u32 {
        let data = self
            .data
            .get_or_init(|| SiteData::new(self.msg.map(str::as_bytes), self.keys.iter().map(|f| framed(f)).collect()));
        let mut all = SITES.lock();
        // Another thread may have registered it meanwhile.
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        // A program has fewer call sites than u32::MAX.
        let id = u32::try_from(all.push(data)).unwrap_or(u32::MAX);
        self.id.store(id, Ordering::Release);
        id
    }
}

/// Registers a call site known only at run time (a `tracing` callsite),
/// without a message: the `,"key":` text of each of its fields by index
/// (leaked: once per call site, and a program has a fixed set of them).
/// Returns its id and what the writer will see.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn register_runtime(keys: Vec<String>) -> (u32, &'static SiteData) {
    let data: &'static SiteData =
        Box::leak(Box::new(SiteData::new(None, keys.into_iter().map(|f| framed(f.leak())).collect())));
    (u32::try_from(SITES.lock().push(data)).unwrap_or(u32::MAX), data)
}

/// The key of `,"key":` text `f`, when it is plain.
fn framed(f: &'static str) -> Option<Framed> {
    let name = f.strip_prefix(",\"")?.strip_suffix("\":")?;
    is_plain(name.as_bytes()).then(|| Framed::of(f))
}

/// Every registered call site; id = index + 1.
pub(super) static SITES: Registry<SiteData> = Registry::new();

/// Whether a format string is its own message: no `{` or `}` (so no
/// argument, no inline capture, no escaped brace). The macros decide it at
/// compile time; such a message is the call site's, not the record's.
pub const fn literal_msg(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' || b[i] == b'}' {
            return false;
        }
        i += 1;
    }
    true
}
