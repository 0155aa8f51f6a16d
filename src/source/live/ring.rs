//! A memory-mapped receive ring (`PACKET_RX_RING`, `TPACKET_V3`), the way
//! libpcap captures: the kernel copies each frame once, into blocks shared
//! with us, and we read a whole block of frames per wake-up instead of one
//! `recv()` plus one `ioctl()` (for its timestamp) per frame. That is what
//! lets a full-frame capture of a 1 GiB loopback transfer keep up.
//!
//! The ring is read through [`Block`], a bounds-checked view of one block that
//! the kernel has handed to user space; no accessor can panic on a malformed
//! block, they return None.

use super::super::Timestamp;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One block: room for 15 full loopback frames (65,549 bytes each) and a
/// multiple of the page size, as the kernel requires.
pub const BLOCK_SIZE: usize = 1 << 20;
/// Blocks in the ring: 64 MiB in all (mapped, so it counts in the resident
/// memory of a capture), twice `tcpdump -B 32768`: a full-frame loopback
/// transfer fills 32 MiB in about 30 ms, less than our thread may wait for
/// a core while the transfer itself keeps both busy.
pub const BLOCKS: usize = 64;
/// Blocks when whole frames are saved (`sniff --save` without `--snaplen`):
/// 256 MiB, for as long as the capture runs. A 1 GiB loopback transfer kept
/// 42–56 % of its bytes with 64 blocks and 76–82 % with 256 (README,
/// Performance); every frame lost is a hole in the student's file.
pub const BLOCKS_SAVING: usize = 256;
/// A block with any frame in it is handed over after this long even if not
/// full, so a lab's sparse packets show up at once.
const RETIRE_MS: u32 = 4;

/// Byte offsets inside a block and a frame, named once, from the kernel's
/// structures as the `libc` crate declares them.
mod at {
    use std::mem::offset_of;
    const BH1: usize = offset_of!(libc::tpacket_block_desc, hdr);
    pub const BLOCK_STATUS: usize = BH1 + offset_of!(libc::tpacket_hdr_v1, block_status);
    pub const NUM_PKTS: usize = BH1 + offset_of!(libc::tpacket_hdr_v1, num_pkts);
    pub const FIRST_PKT: usize = BH1 + offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt);
    pub const NEXT_OFFSET: usize = offset_of!(libc::tpacket3_hdr, tp_next_offset);
    pub const SEC: usize = offset_of!(libc::tpacket3_hdr, tp_sec);
    pub const NSEC: usize = offset_of!(libc::tpacket3_hdr, tp_nsec);
    pub const SNAPLEN: usize = offset_of!(libc::tpacket3_hdr, tp_snaplen);
    pub const LEN: usize = offset_of!(libc::tpacket3_hdr, tp_len);
    pub const MAC: usize = offset_of!(libc::tpacket3_hdr, tp_mac);
    /// The `sockaddr_ll` follows the header, aligned to TPACKET_ALIGNMENT.
    pub const SLL: usize = std::mem::size_of::<libc::tpacket3_hdr>().next_multiple_of(libc::TPACKET_ALIGNMENT);
    pub const PKTTYPE: usize = SLL + offset_of!(libc::sockaddr_ll, sll_pkttype);
}

/// One frame in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingFrame<'a> {
    /// Kernel receive time.
    pub ts: Timestamp,
    /// Length on the wire.
    pub len: u32,
    /// The bytes kept (at most the filter's snaplen).
    pub data: &'a [u8],
    /// `sll_pkttype`: PACKET_OUTGOING (4) for our own host's sent copy.
    pub pkttype: u8,
}

/// A block handed to user space: its bytes, read-only.
pub struct Block<'a> {
    bytes: &'a [u8],
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

impl<'a> Block<'a> {
    /// A view of `bytes` as a TPACKET_V3 block.
    pub fn new(bytes: &'a [u8]) -> Self {
        Block { bytes }
    }

    /// The whole block.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The block's frames in order; stops at the first header that points
    /// outside the block.
    pub fn frames(&self) -> impl Iterator<Item = RingFrame<'a>> + 'a {
        let bytes = self.bytes;
        let count = u32_at(bytes, at::NUM_PKTS).unwrap_or(0);
        let mut offset = u32_at(bytes, at::FIRST_PKT).map(|o| o as usize);
        (0..count).map_while(move |_| {
            let start = offset?;
            let hdr = bytes.get(start..)?;
            let frame = Self::frame(hdr)?;
            offset = match u32_at(hdr, at::NEXT_OFFSET)? {
                0 => None,
                next => start.checked_add(next as usize),
            };
            Some(frame)
        })
    }

    /// The frame whose `tpacket3_hdr` opens `hdr`.
    fn frame(hdr: &'a [u8]) -> Option<RingFrame<'a>> {
        let mac = u16_at(hdr, at::MAC)? as usize;
        let snaplen = u32_at(hdr, at::SNAPLEN)? as usize;
        Some(RingFrame {
            ts: Timestamp { secs: u32_at(hdr, at::SEC)? as i64, nanos: u32_at(hdr, at::NSEC)? },
            len: u32_at(hdr, at::LEN)?,
            data: hdr.get(mac..mac.checked_add(snaplen)?)?,
            pkttype: *hdr.get(at::PKTTYPE)?,
        })
    }
}

/// The ring's memory, shared by the ring and the blocks lent out of it:
/// unmapped when the last of them is gone.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is only read through `Block` views of blocks that user
// space owns (status TP_STATUS_USER, which the kernel does not write), and
// block status words only through atomics; the pointer itself never changes.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared access is reads of owned blocks and atomic status words.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are the mapping made in `Ring::new`; this is
        // its last owner (an Arc), so no view of it is left.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

impl Mapping {
    /// Block `index`'s first byte.
    fn block(&self, index: usize) -> *mut u8 {
        debug_assert!((index + 1) * BLOCK_SIZE <= self.len);
        // SAFETY (of the add): callers pass `index < blocks`, so the offset
        // stays inside the mapping.
        unsafe { self.ptr.add(index * BLOCK_SIZE) }
    }

    /// Block `index`'s status word.
    fn status(&self, index: usize) -> &AtomicU32 {
        // SAFETY: the block lies inside the mapping (index < blocks), which
        // lives as long as `self`; the status word is 4-aligned (blocks are
        // page-aligned, BLOCK_STATUS is a u32 field's offset), the kernel
        // only accesses it atomically-sized, and AtomicU32 has u32's layout.
        unsafe { AtomicU32::from_ptr(self.block(index).add(at::BLOCK_STATUS) as *mut u32) }
    }
}

/// The mapped ring of a packet socket.
pub struct Ring {
    map: Arc<Mapping>,
    /// Blocks mapped, each `BLOCK_SIZE` bytes.
    blocks: usize,
    next: usize,
    /// Blocks lent out ([`Ring::lend`]) and not given back yet.
    lent: Arc<[AtomicBool]>,
}

/// What [`Ring::lend`] found at the next block.
pub enum Next {
    /// The kernel has filled it: lent to the caller.
    Ready(Lent),
    /// The kernel is still filling it: wait on the socket.
    Empty,
    /// Still lent out from the last time round: wait for its frames to be dropped.
    Busy,
}

/// A block lent out of the ring: its frames are read where the kernel wrote
/// them, without a copy, and the block goes back to the kernel when the last
/// [`RingBytes`] of it is dropped. While lent, the kernel skips it (frames
/// that find no free block are dropped and counted, as with any full ring).
pub struct Lent {
    map: Arc<Mapping>,
    index: usize,
    lent: Arc<[AtomicBool]>,
}

impl Lent {
    /// The block's contents.
    pub fn block(&self) -> Block<'_> {
        // SAFETY: the block lies inside the mapping, which `self.map` keeps
        // alive; its status is TP_STATUS_USER until `self` is dropped, and the
        // kernel does not write a block in that state.
        Block::new(unsafe { std::slice::from_raw_parts(self.map.block(self.index), BLOCK_SIZE) })
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        // Back to the kernel first, then free to be lent again: the other
        // order could lend the old contents twice.
        self.map.status(self.index).store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.lent[self.index].store(false, Ordering::Release);
    }
}

/// One frame's bytes inside a lent block (keeps the block lent).
#[derive(Clone)]
pub struct RingBytes {
    block: Arc<Lent>,
    offset: usize,
    len: usize,
}

impl RingBytes {
    /// `data`, a frame read from `block.block()`.
    pub fn new(block: &Arc<Lent>, data: &[u8]) -> RingBytes {
        let offset = (data.as_ptr() as usize).wrapping_sub(block.block().bytes().as_ptr() as usize);
        RingBytes { block: Arc::clone(block), offset, len: data.len() }
    }
}

impl std::ops::Deref for RingBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // Bounds-checked: a frame from somewhere else reads as empty, not out of the block.
        self.block.block().bytes().get(self.offset..).and_then(|b| b.get(..self.len)).unwrap_or(&[])
    }
}

impl std::fmt::Debug for RingBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RingBytes(block {}, {} bytes)", self.block.index, self.len)
    }
}

/// A block while user space holds it; given back to the kernel on drop.
pub struct Held<'r> {
    status: &'r AtomicU32,
    start: *const u8,
    /// Holds the ring mutably: one block at a time, none after unmapping.
    _ring: std::marker::PhantomData<&'r mut Ring>,
}

impl Held<'_> {
    /// The block's contents (a view that ends before the block is given back).
    pub fn block(&self) -> Block<'_> {
        // SAFETY: `start` is a block inside the mapping, which outlives
        // `self` (it borrows the ring); while the block's status says
        // TP_STATUS_USER, which it does until `self` is dropped, the kernel
        // does not write to it; the view borrows `self`, so it is gone
        // before `drop` hands the block back.
        Block::new(unsafe { std::slice::from_raw_parts(self.start, BLOCK_SIZE) })
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Release: our reads of the block happen before the kernel may refill it.
        self.status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }
}

impl Ring {
    /// Switches `fd` (an unbound packet socket) to TPACKET_V3 and maps its
    /// receive ring. Frames arrive once the socket is bound.
    /// `blocks`: [`BLOCKS`] or [`BLOCKS_SAVING`].
    pub fn new(fd: BorrowedFd<'_>, blocks: usize) -> io::Result<Ring> {
        super::setsockopt_int(fd, super::SOL_PACKET, libc::PACKET_VERSION, libc::tpacket_versions::TPACKET_V3 as _)?;
        let req = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: blocks as u32,
            // V3 packs frames of any length into a block; the kernel still
            // checks that frames tile blocks, so one "frame" per block.
            tp_frame_size: BLOCK_SIZE as u32,
            tp_frame_nr: blocks as u32,
            tp_retire_blk_tov: RETIRE_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        super::setsockopt(fd, super::SOL_PACKET, libc::PACKET_RX_RING, &req)?;
        // SAFETY: a fresh shared mapping of exactly the ring's size at an
        // address the kernel chooses, so it overlaps no Rust object; the
        // socket has a ring of that size (setsockopt above succeeded).
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BLOCK_SIZE * blocks,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Ring {
            map: Arc::new(Mapping { ptr: map as *mut u8, len: BLOCK_SIZE * blocks }),
            blocks,
            next: 0,
            lent: (0..blocks).map(|_| AtomicBool::new(false)).collect(),
        })
    }

    /// Whether the next block is the kernel's to fill (Acquire: once it is
    /// ours, the kernel's writes of it are visible).
    fn next_is_ours(&self) -> bool {
        self.map.status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    /// The next block if the kernel has handed it over, to read in place
    /// and give back at once (when the [`Held`] is dropped).
    pub fn ready(&mut self) -> Option<Held<'_>> {
        if self.lent[self.next].load(Ordering::Acquire) || !self.next_is_ours() {
            return None;
        }
        let (status, start) = (self.map.status(self.next), self.map.block(self.next));
        self.next = (self.next + 1) % self.blocks;
        Some(Held { status, start, _ring: std::marker::PhantomData })
    }

    /// Whether any block is still lent out. While one is, `poll()` on the
    /// socket reports data at once (the kernel sees a block it handed over
    /// and did not get back), so it cannot be waited on.
    pub fn any_lent(&self) -> bool {
        self.lent.iter().any(|l| l.load(Ordering::Relaxed))
    }

    /// The next block, lent out: it goes back to the kernel when the [`Lent`]
    /// and every [`RingBytes`] made from it are dropped, on any thread.
    pub fn lend(&mut self) -> Next {
        if self.lent[self.next].load(Ordering::Acquire) {
            return Next::Busy;
        }
        if !self.next_is_ours() {
            return Next::Empty;
        }
        self.lent[self.next].store(true, Ordering::Release);
        let lent = Lent { map: Arc::clone(&self.map), index: self.next, lent: Arc::clone(&self.lent) };
        self.next = (self.next + 1) % self.blocks;
        Next::Ready(lent)
    }
}

/// Waits until the socket has a block for us, or `timeout`.
pub fn wait(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<()> {
    let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN | libc::POLLERR, revents: 0 };
    // SAFETY: one valid, writable pollfd, and the count says one; `fd` is
    // borrowed, so open.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis().min(i32::MAX as u128) as libc::c_int) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// Binds the packet socket to an interface, all protocols: capture starts.
pub fn bind(fd: BorrowedFd<'_>, ifindex: u32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: the pointer and length describe `sll`, which the kernel only reads.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block as the kernel lays it out, with frames (pkttype, data).
    fn block(frames: &[(u8, &[u8])]) -> Vec<u8> {
        let first = 48usize;
        let mut b = vec![0u8; first];
        b[at::NUM_PKTS..][..4].copy_from_slice(&(frames.len() as u32).to_ne_bytes());
        b[at::FIRST_PKT..][..4].copy_from_slice(&(first as u32).to_ne_bytes());
        for (i, (pkttype, data)) in frames.iter().enumerate() {
            let start = b.len();
            let mac = 80usize;
            let size = (mac + data.len()).next_multiple_of(16);
            b.resize(start + size, 0);
            let h = &mut b[start..];
            let next = if i + 1 == frames.len() { 0 } else { size as u32 };
            h[at::NEXT_OFFSET..][..4].copy_from_slice(&next.to_ne_bytes());
            h[at::SEC..][..4].copy_from_slice(&(1000 + i as u32).to_ne_bytes());
            h[at::NSEC..][..4].copy_from_slice(&(999_999_999u32).to_ne_bytes());
            h[at::SNAPLEN..][..4].copy_from_slice(&(data.len() as u32).to_ne_bytes());
            h[at::LEN..][..4].copy_from_slice(&(data.len() as u32 + 7).to_ne_bytes());
            h[at::MAC..][..2].copy_from_slice(&(mac as u16).to_ne_bytes());
            h[at::PKTTYPE] = *pkttype;
            h[mac..mac + data.len()].copy_from_slice(data);
        }
        b
    }

    #[test]
    fn reads_every_frame_of_a_block() {
        let b = block(&[(0, b"first"), (4, b"second frame"), (0, b"")]);
        let got: Vec<_> = Block::new(&b).frames().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].data, b"first");
        assert_eq!(got[0].len, 12);
        assert_eq!(got[0].ts, Timestamp { secs: 1000, nanos: 999_999_999 });
        assert_eq!(got[1].data, b"second frame");
        assert_eq!(got[1].pkttype, libc::PACKET_OUTGOING);
        assert_eq!(got[2].data, b"");
        assert_eq!(got[2].ts.secs, 1002);
    }

    #[test]
    fn a_damaged_block_ends_the_frames_without_panicking() {
        let good = block(&[(0, b"abc"), (0, b"defg")]);
        // Every prefix, and every byte changed, of a valid block.
        for cut in 0..good.len() {
            let _ = Block::new(&good[..cut]).frames().count();
        }
        for i in 0..good.len() {
            for v in [0u8, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                for f in Block::new(&b).frames() {
                    assert!(f.data.len() <= b.len());
                }
            }
        }
        // A count far larger than the frames there.
        let mut b = good.clone();
        b[at::NUM_PKTS..][..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(Block::new(&b).frames().count(), 2);
    }
}
