//! Classic BPF (the `SO_ATTACH_FILTER` kind) assembled from typed
//! instructions with symbolic labels.
//!
//! A conditional jump holds its offsets in 8 bits, so it can skip at most 255
//! instructions; only `ja` has a 32-bit offset. A port filter jumps from every
//! port comparison to one accept instruction at the end, which is too far once
//! there are ~60 ports. The assembler therefore places, whenever a pending
//! conditional jump is about to lose reach of its label, an island of `ja`
//! trampolines (skipped by a `ja` of its own when control can fall into it) and
//! points the short jumps at them. Programs whose jumps all fit come out
//! exactly as written: no island is placed.

/// `BPF_MAXINSNS`: the kernel refuses longer classic programs.
pub const MAX_INSNS: usize = 4096;

/// Farthest a conditional jump reaches: `pc + 1 + 255`.
const SHORT_REACH: usize = u8::MAX as usize;

/// Opcodes (linux/filter.h), as the kernel spells them combined.
pub mod op {
    /// `ld [k]`, 16 bits: `BPF_LD | BPF_H | BPF_ABS`.
    pub const LDH_ABS: u16 = 0x28;
    /// `ldb [k]`: `BPF_LD | BPF_B | BPF_ABS`.
    pub const LDB_ABS: u16 = 0x30;
    /// `ldh [x + k]`: `BPF_LD | BPF_H | BPF_IND`.
    pub const LDH_IND: u16 = 0x48;
    /// `ldxb 4 * ([k] & 0xf)`: `BPF_LDX | BPF_B | BPF_MSH`.
    pub const LDXB_MSH: u16 = 0xb1;
    /// `jeq #k, jt, jf`: `BPF_JMP | BPF_JEQ | BPF_K`.
    pub const JEQ_K: u16 = 0x15;
    /// `ja k`: `BPF_JMP | BPF_JA`.
    pub const JA: u16 = 0x05;
    /// `ret #k`: `BPF_RET | BPF_K`.
    pub const RET_K: u16 = 0x06;
}

/// A place in the program, bound once with [`Program::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Where a conditional jump goes.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// The following instruction.
    Next,
    /// A label later in the program (classic BPF only jumps forward).
    To(Label),
}

/// The instructions a filter uses.
#[derive(Clone, Copy, Debug)]
pub enum Insn {
    /// A = the 16-bit big-endian value at byte `k` of the frame.
    LoadHalf(u32),
    /// A = the byte at `k`.
    LoadByte(u32),
    /// A = the 16-bit value at byte X + `k`.
    LoadHalfIndexed(u32),
    /// X = 4 × (low nibble of the byte at `k`): an IPv4 header's length.
    LoadIpv4HeaderLen(u32),
    /// Go to `yes` if A == `k`, else to `no`.
    JumpIfEqual { k: u32, yes: Target, no: Target },
    /// Go to a label, however far.
    Goto(Label),
    /// Accept at most `k` bytes of the frame (0: drop it).
    Return(u32),
}

impl Insn {
    /// Whether the next instruction can be reached by falling through.
    fn falls_through(self) -> bool {
        !matches!(self, Insn::Goto(_) | Insn::Return(_))
    }
}

/// The program exceeds [`MAX_INSNS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong {
    /// Instructions it would need.
    pub len: usize,
}

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a classic BPF program of {} instructions exceeds the kernel's {MAX_INSNS}", self.len)
    }
}

enum Item {
    Insn(Insn),
    Bind(Label),
}

/// A program under construction.
#[derive(Default)]
pub struct Program {
    items: Vec<Item>,
    labels: usize,
}

/// Which offset of a conditional jump still waits for its label.
#[derive(Clone, Copy)]
enum Field {
    True,
    False,
}

/// Fills in a conditional jump's offset. The islands keep every one within
/// reach; a silent truncation here was issue 9, so it is checked.
fn set_short(insn: &mut libc::sock_filter, field: Field, offset: usize) {
    let offset = u8::try_from(offset).expect("BPF island placed within reach");
    match field {
        Field::True => insn.jt = offset,
        Field::False => insn.jf = offset,
    }
}

impl Program {
    pub fn new() -> Program {
        Program::default()
    }

    /// A fresh label, to be bound later.
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    /// Binds `label` to the next instruction pushed.
    pub fn bind(&mut self, label: Label) {
        self.items.push(Item::Bind(label));
    }

    pub fn push(&mut self, insn: Insn) {
        self.items.push(Item::Insn(insn));
    }

    /// Lays the program out and resolves its labels.
    ///
    /// # Panics
    /// On a label bound twice, never bound, or jumped to backwards: these are
    /// mistakes in the code that builds the program, not in its input.
    pub fn assemble(&self) -> Result<Vec<libc::sock_filter>, TooLong> {
        let mut out: Vec<libc::sock_filter> = Vec::new();
        let mut bound: Vec<Option<usize>> = vec![None; self.labels];
        // Conditional jumps whose label is not placed yet.
        let mut pending: Vec<(usize, Field, Label)> = Vec::new();
        // `ja`s, resolved once every label is placed.
        let mut long: Vec<(usize, Label)> = Vec::new();
        let mut falls_through = false;
        let insn = |code: u16, k: u32| libc::sock_filter { code, jt: 0, jf: 0, k };
        for item in &self.items {
            let next = match item {
                Item::Bind(label) => {
                    assert!(bound[label.0].is_none(), "BPF label bound twice");
                    let here = out.len();
                    bound[label.0] = Some(here);
                    pending.retain(|&(at, field, l)| {
                        if l != *label {
                            return true;
                        }
                        set_short(&mut out[at], field, here - at - 1);
                        false
                    });
                    continue;
                }
                Item::Insn(next) => *next,
            };
            if let Some(oldest) = pending.iter().map(|p| p.0).min() {
                let mut waiting: Vec<Label> = Vec::new();
                for &(_, _, l) in &pending {
                    if !waiting.contains(&l) {
                        waiting.push(l);
                    }
                }
                // Farthest instruction the oldest waiting jump can land on.
                let reach = oldest + 1 + SHORT_REACH;
                // An island put off until after this instruction would start
                // at out.len() + 1 with a skip, then one trampoline per
                // waiting label and per label this instruction may add (two).
                let last_if_deferred = (out.len() + 1) + 1 + (waiting.len() + 2) - 1;
                if last_if_deferred > reach {
                    if falls_through {
                        out.push(insn(op::JA, waiting.len() as u32));
                    }
                    for l in waiting {
                        let here = out.len();
                        for &(at, field, _) in pending.iter().filter(|p| p.2 == l) {
                            set_short(&mut out[at], field, here - at - 1);
                        }
                        long.push((here, l));
                        out.push(insn(op::JA, 0));
                    }
                    pending.clear();
                }
            }
            let here = out.len();
            let mut target = |t: Target, field: Field| match t {
                Target::Next => 0,
                Target::To(l) => {
                    assert!(bound[l.0].is_none(), "classic BPF cannot jump backwards");
                    pending.push((here, field, l));
                    0
                }
            };
            out.push(match next {
                Insn::LoadHalf(k) => insn(op::LDH_ABS, k),
                Insn::LoadByte(k) => insn(op::LDB_ABS, k),
                Insn::LoadHalfIndexed(k) => insn(op::LDH_IND, k),
                Insn::LoadIpv4HeaderLen(k) => insn(op::LDXB_MSH, k),
                Insn::JumpIfEqual { k, yes, no } => {
                    libc::sock_filter { code: op::JEQ_K, jt: target(yes, Field::True), jf: target(no, Field::False), k }
                }
                Insn::Goto(l) => {
                    assert!(bound[l.0].is_none(), "classic BPF cannot jump backwards");
                    long.push((here, l));
                    insn(op::JA, 0)
                }
                Insn::Return(k) => insn(op::RET_K, k),
            });
            falls_through = next.falls_through();
        }
        assert!(pending.is_empty(), "BPF label never bound");
        for (at, l) in long {
            let to = bound[l.0].expect("BPF label never bound");
            out[at].k = (to - at - 1) as u32;
        }
        assert!(bound.iter().flatten().all(|&b| b < out.len()), "BPF label bound past the last instruction");
        if out.len() > MAX_INSNS {
            return Err(TooLong { len: out.len() });
        }
        Ok(out)
    }
}
