//! Where formatted bytes go: the [`Out`] trait (a record's capture buffer,
//! a `Vec<u8>`) and [`OutBuf`], the writer's buffer for one sink.

/// Something bytes can be appended to: the capture buffer of a record or a
/// plain `Vec<u8>` (bindings, the writer's output buffers).
pub trait Out {
    /// Appends one byte.
    fn push(&mut self, b: u8);
    /// Appends bytes.
    fn extend(&mut self, s: &[u8]);
    /// The number of bytes written so far.
    fn len(&self) -> usize;
    /// Cuts back to `len` bytes.
    fn truncate(&mut self, len: usize);
    /// Overwrites four bytes at `at` with `v` (little endian).
    fn patch_u32(&mut self, at: usize, v: u32);
    /// The bytes written from `from` on.
    fn tail(&self, from: usize) -> &[u8];
    /// At least `n` writable bytes past the end, not yet counted as
    /// written (see [`advance`](Out::advance)), for outputs that can lend
    /// them; `None` otherwise.
    #[inline(always)]
    fn spare(&mut self, _n: usize) -> Option<&mut [u8]> {
        None
    }
    /// Counts `n` bytes of the [`spare`](Out::spare) room as written.
    #[inline(always)]
    fn advance(&mut self, _n: usize) {}
    /// Appends `a` then `b` (for outputs that can, with one room check).
    #[inline(always)]
    fn extend2(&mut self, a: &[u8], b: &[u8]) {
        self.extend(a);
        self.extend(b);
    }
}

impl Out for Vec<u8> {
    #[inline]
    fn push(&mut self, b: u8) {
        Vec::push(self, b)
    }
    #[inline]
    fn extend(&mut self, s: &[u8]) {
        self.extend_from_slice(s)
    }
    #[inline]
    fn len(&self) -> usize {
        Vec::len(self)
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len)
    }
    #[inline]
    fn patch_u32(&mut self, at: usize, v: u32) {
        self[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn tail(&self, from: usize) -> &[u8] {
        &self[from..]
    }
}

/// An output buffer that writes short pieces without calling `memcpy`:
/// its bytes stay initialized up to its capacity and a position marks the
/// end of what was written.
pub(crate) struct OutBuf {
    buf: Vec<u8>,
    pos: usize,
}

impl OutBuf {
    pub(crate) fn with_capacity(n: usize) -> OutBuf {
        OutBuf { buf: vec![0; n], pos: 0 }
    }

    /// The bytes written.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    #[inline]
    pub(crate) fn clear(&mut self) {
        self.pos = 0;
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Gives memory back when a huge record made the buffer grow past `keep`.
    pub(crate) fn shrink_to(&mut self, keep: usize, to: usize) {
        if self.buf.len() > keep && self.pos == 0 {
            self.buf = vec![0; to];
        }
    }

    /// The next `n` bytes, counted as written.
    #[inline(always)]
    fn room(&mut self, n: usize) -> &mut [u8] {
        if self.buf.len() - self.pos < n {
            self.grow(n);
        }
        let start = self.pos;
        self.pos += n;
        &mut self.buf[start..start + n]
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) {
        let len = (self.buf.len() * 2).max(self.pos + n).max(64);
        self.buf.resize(len, 0);
    }
}

impl Out for OutBuf {
    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.room(1)[0] = b;
    }
    #[inline(always)]
    fn extend(&mut self, s: &[u8]) {
        copy_small(self.room(s.len()), s);
    }
    #[inline]
    fn len(&self) -> usize {
        self.pos
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        self.pos = self.pos.min(len);
    }
    fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn tail(&self, from: usize) -> &[u8] {
        &self.buf[from..self.pos]
    }
    #[inline(always)]
    fn spare(&mut self, n: usize) -> Option<&mut [u8]> {
        if self.buf.len() - self.pos < n {
            self.grow(n);
        }
        self.buf.get_mut(self.pos..self.pos + n)
    }
    #[inline(always)]
    fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
    #[inline(always)]
    fn extend2(&mut self, a: &[u8], b: &[u8]) {
        let dst = self.room(a.len() + b.len());
        let (da, db) = dst.split_at_mut(a.len());
        copy_small(da, a);
        copy_small(db, b);
    }
}

/// Copies `src` into `dst` (of the same length) without a call to `memcpy`
/// for the short keys and values records are made of: up to 16 bytes with
/// two overlapping fixed-size moves.
#[inline(always)]
pub(crate) fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..n].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..n].copy_from_slice(&src[n - 8..]);
        }
        _ => dst[..n].copy_from_slice(src),
    }
}
