//! Bitmap commands on strings: SETBIT GETBIT BITCOUNT BITPOS BITOP
//! (AND OR XOR NOT and Redis 8.2's DIFF DIFF1 ANDOR ONE) BITFIELD
//! BITFIELD_RO. Bit 0 is the most significant bit of the first byte, as in
//! Redis. SETBIT and BITFIELD change the string in place and log only the
//! bytes they changed (a SETRANGE record).

use bytes::Bytes;
use vexlake_engine::EngineError;
use vexlake_engine::keyspace::{SetOptions, Value};
use vexlake_protocol::args::{is_keyword, parse_i64};

use super::table::{BASE, CommandSpec, K1};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::{GENERIC, STRING};

const OFFSET_ERR: &str = "bit offset is not an integer or out of range";

/// A bit offset (`#n` = n times `width` when `width` is given): below
/// `proto-max-bulk-len` bytes.
fn bit_offset(ctx: &Ctx<'_>, a: &[u8], width: Option<u32>) -> Result<u64, CmdError> {
    let (hash, text) = match (a.first(), width) {
        (Some(b'#'), Some(_)) => (true, &a[1..]),
        _ => (false, a),
    };
    let mut v = parse_i64(text).ok_or_else(|| CmdError::err(OFFSET_ERR))?;
    if hash {
        v = v
            .checked_mul(i64::from(width.unwrap_or(1)))
            .ok_or_else(|| CmdError::err(OFFSET_ERR))?;
    }
    let max = ctx.state.config().proto_max_bulk_len;
    if v < 0 || (v as u64 >> 3) >= max {
        return Err(CmdError::err(OFFSET_ERR));
    }
    Ok(v as u64)
}

fn max_len(ctx: &Ctx<'_>) -> usize {
    ctx.state.engine.config().max_string_len
}

/// The string at `key` (None when missing) for a read command.
fn read_string(ctx: &Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CmdError> {
    Ok(ctx.db().get(key, ctx.now())?)
}

/// SETBIT key offset value.
pub fn setbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let off = bit_offset(ctx, &args[2], None)?;
    let on = match &args[3][..] {
        b"1" => true,
        b"0" => false,
        _ => return Err(CmdError::err("bit is not an integer or out of range")),
    };
    let byte = (off >> 3) as usize;
    let mask = 0x80u8 >> (off & 7);
    let old = ctx
        .db()
        .patch_string(&args[1], max_len(ctx), ctx.now(), |cur| {
            let b = cur.and_then(|c| c.get(byte)).copied().unwrap_or(0);
            let new = if on { b | mask } else { b & !mask };
            let grows = cur.is_none_or(|c| c.len() <= byte);
            let patch = (new != b || grows).then(|| (byte, vec![new]));
            Ok((patch, b & mask != 0))
        })?;
    ctx.notify(STRING, "setbit", &args[1]);
    ctx.out.int(i64::from(old));
    Ok(())
}

/// GETBIT key offset.
pub fn getbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let off = bit_offset(ctx, &args[2], None)?;
    let v = read_string(ctx, &args[1])?
        .and_then(|s| s.get((off >> 3) as usize).copied())
        .is_some_and(|b| b & (0x80 >> (off & 7)) != 0);
    ctx.out.int(i64::from(v));
    Ok(())
}

/// A `start end [BYTE | BIT]` range over `len` bytes, as bit positions
/// `[from, to]` (None: empty). Negative indexes count from the end.
fn bit_range(start: i64, end: i64, bits: bool, len: usize) -> Option<(u64, u64)> {
    let total = if bits { len as i64 * 8 } else { len as i64 };
    let norm = |v: i64| if v < 0 { (total + v).max(0) } else { v };
    let (s, e) = (norm(start), norm(end).min(total - 1));
    if total == 0 || s > e {
        return None;
    }
    Some(if bits {
        (s as u64, e as u64)
    } else {
        (s as u64 * 8, e as u64 * 8 + 7)
    })
}

fn bit_at(s: &[u8], i: u64) -> bool {
    s[(i >> 3) as usize] & (0x80 >> (i & 7)) != 0
}

/// Parses `BYTE | BIT`.
fn unit(a: &[u8]) -> Result<bool, CmdError> {
    if is_keyword(a, "bit") {
        Ok(true)
    } else if is_keyword(a, "byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// BITCOUNT key [start end [BYTE | BIT]].
pub fn bitcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = match args.len() {
        2 => None,
        4 | 5 => {
            let bits = match args.get(4) {
                Some(a) => unit(a)?,
                None => false,
            };
            Some((int_arg(&args[2])?, int_arg(&args[3])?, bits))
        }
        _ => return Err(CmdError::Syntax),
    };
    let s = read_string(ctx, &args[1])?.unwrap_or_default();
    let n = match range {
        None => s.iter().map(|b| b.count_ones() as u64).sum(),
        Some((a, b, bits)) => match bit_range(a, b, bits, s.len()) {
            None => 0,
            Some((from, to)) => (from..=to).filter(|&i| bit_at(&s, i)).count() as u64,
        },
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// BITPOS key bit [start [end [BYTE | BIT]]].
pub fn bitpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let want = match int_arg(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::err("The bit argument must be 1 or 0.")),
    };
    if args.len() > 6 {
        return Err(CmdError::Syntax);
    }
    let start = args.get(3).map(|a| int_arg(a)).transpose()?.unwrap_or(0);
    let end_given = args.len() > 4;
    let end = args.get(4).map(|a| int_arg(a)).transpose()?.unwrap_or(-1);
    let bits = match args.get(5) {
        Some(a) => unit(a)?,
        None => false,
    };
    let Some(s) = read_string(ctx, &args[1])? else {
        ctx.out.int(if want { -1 } else { 0 });
        return Ok(());
    };
    let pos = match bit_range(start, end, bits, s.len()) {
        None => -1,
        Some((from, to)) => match (from..=to).find(|&i| bit_at(&s, i) == want) {
            Some(i) => i as i64,
            // Looking for a 0 past the end of the string without an end:
            // the string counts as padded with zeros.
            None if !want && !end_given => s.len() as i64 * 8,
            None => -1,
        },
    };
    ctx.out.int(pos);
    Ok(())
}

/// BITOP operations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
    Diff,
    Diff1,
    AndOr,
    One,
}

/// BITOP AND|OR|XOR|NOT|DIFF|DIFF1|ANDOR|ONE destkey key [key ...].
pub fn bitop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = &args[1];
    let op = match () {
        _ if is_keyword(a, "and") => BitOp::And,
        _ if is_keyword(a, "or") => BitOp::Or,
        _ if is_keyword(a, "xor") => BitOp::Xor,
        _ if is_keyword(a, "not") => BitOp::Not,
        _ if is_keyword(a, "diff") => BitOp::Diff,
        _ if is_keyword(a, "diff1") => BitOp::Diff1,
        _ if is_keyword(a, "andor") => BitOp::AndOr,
        _ if is_keyword(a, "one") => BitOp::One,
        _ => return Err(CmdError::Syntax),
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    if matches!(op, BitOp::Diff | BitOp::Diff1 | BitOp::AndOr) && args.len() < 5 {
        return Err(CmdError::err(format!(
            "BITOP {} must be called with at least two source keys.",
            String::from_utf8_lossy(a).to_uppercase()
        )));
    }
    let keys: Vec<&[u8]> = args[3..].iter().map(|k| &k[..]).collect();
    let srcs: Vec<Bytes> = ctx.db().edit_keys(&keys, ctx.now(), |vals| {
        let out = vals
            .iter()
            .map(|v| match v {
                None => Ok(Bytes::new()),
                Some(Value::Str(b)) => Ok(b.clone()),
                Some(_) => Err(EngineError::WrongType),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((out, vec![]))
    })?;
    let len = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let byte = |s: &Bytes, j: usize| s.get(j).copied().unwrap_or(0);
    let mut res = vec![0u8; len];
    for (j, r) in res.iter_mut().enumerate() {
        let first = byte(&srcs[0], j);
        let rest = srcs[1..].iter().map(|s| byte(s, j));
        *r = match op {
            BitOp::And => rest.fold(first, |a, b| a & b),
            BitOp::Or => rest.fold(first, |a, b| a | b),
            BitOp::Xor => rest.fold(first, |a, b| a ^ b),
            BitOp::Not => !first,
            BitOp::Diff => first & !rest.fold(0, |a, b| a | b),
            BitOp::Diff1 => !first & rest.fold(0, |a, b| a | b),
            BitOp::AndOr => first & rest.fold(0, |a, b| a | b),
            BitOp::One => {
                let (mut out, mut common) = (first, 0u8);
                for b in rest {
                    common |= out & b;
                    out ^= b;
                    out &= !common;
                }
                out
            }
        };
    }
    let dst = &args[2];
    if len > 0 {
        ctx.db().set(dst, &res, SetOptions::default(), ctx.now())?;
        ctx.notify(STRING, "set", dst);
    } else if ctx.db().del(std::slice::from_ref(dst), ctx.now())? > 0 {
        ctx.notify(GENERIC, "del", dst);
    }
    ctx.out.int(len as i64);
    Ok(())
}

/// A BITFIELD type: signed, width 1..=64 (unsigned 1..=63).
#[derive(Clone, Copy)]
struct Field {
    signed: bool,
    bits: u32,
}

fn field_type(a: &[u8]) -> Result<Field, CmdError> {
    let err = || {
        CmdError::err(
            "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let bits = parse_i64(&a[1..]).ok_or_else(err)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(err());
    }
    Ok(Field {
        signed,
        bits: bits as u32,
    })
}

/// Reads `f.bits` bits at bit `off` of `s` (zeros past the end) as u64.
fn get_bits(s: &[u8], off: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..u64::from(bits) {
        let p = off + i;
        let bit = s
            .get((p >> 3) as usize)
            .is_some_and(|b| b & (0x80 >> (p & 7)) != 0);
        v = (v << 1) | u64::from(bit);
    }
    v
}

fn set_bits(s: &mut Vec<u8>, off: u64, bits: u32, v: u64) {
    let end = ((off + u64::from(bits)).div_ceil(8)) as usize;
    if s.len() < end {
        s.resize(end, 0);
    }
    for i in 0..u64::from(bits) {
        let p = off + i;
        let bit = (v >> (u64::from(bits) - 1 - i)) & 1 == 1;
        let (byte, mask) = ((p >> 3) as usize, 0x80u8 >> (p & 7));
        if bit {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
    }
}

/// The value of `raw` (the field's bits) as an integer of type `f`.
fn to_value(f: Field, raw: u64) -> i64 {
    if f.signed && f.bits < 64 && raw >> (f.bits - 1) & 1 == 1 {
        (raw | (!0u64 << f.bits)) as i64
    } else {
        raw as i64
    }
}

/// `v` as the field's bits.
fn to_raw(f: Field, v: i64) -> u64 {
    if f.bits == 64 {
        v as u64
    } else {
        (v as u64) & ((1u64 << f.bits) - 1)
    }
}

/// The range of a field type.
fn bounds(f: Field) -> (i128, i128) {
    if f.signed {
        (-(1i128 << (f.bits - 1)), (1i128 << (f.bits - 1)) - 1)
    } else {
        (0, (1i128 << f.bits) - 1)
    }
}

/// OVERFLOW behaviour.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// `v` brought into range (None: FAIL).
fn fit(f: Field, v: i128, o: Overflow) -> Option<i64> {
    let (lo, hi) = bounds(f);
    if (lo..=hi).contains(&v) {
        return Some(v as i64);
    }
    match o {
        Overflow::Fail => None,
        Overflow::Sat => Some(if v < lo { lo as i64 } else { hi as i64 }),
        Overflow::Wrap => Some(to_value(f, (v as u128 & ((1u128 << f.bits) - 1)) as u64)),
    }
}

/// Bytes to write at an offset.
type Patch = (usize, Vec<u8>);

/// One BITFIELD operation.
enum BfOp {
    Get(Field, u64),
    Set(Field, u64, i64, Overflow),
    Incr(Field, u64, i64, Overflow),
}

fn parse_bitfield(ctx: &Ctx<'_>, args: &[Bytes], read_only: bool) -> Result<Vec<BfOp>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let left = args.len() - i - 1;
        if is_keyword(a, "get") && left >= 2 {
            let f = field_type(&args[i + 1])?;
            ops.push(BfOp::Get(f, bit_offset(ctx, &args[i + 2], Some(f.bits))?));
            i += 3;
        } else if (is_keyword(a, "set") || is_keyword(a, "incrby")) && left >= 3 {
            if read_only {
                return Err(CmdError::err(
                    "BITFIELD_RO only supports the GET subcommand",
                ));
            }
            let f = field_type(&args[i + 1])?;
            let off = bit_offset(ctx, &args[i + 2], Some(f.bits))?;
            let v = int_arg(&args[i + 3])?;
            ops.push(if is_keyword(a, "set") {
                BfOp::Set(f, off, v, overflow)
            } else {
                BfOp::Incr(f, off, v, overflow)
            });
            i += 4;
        } else if is_keyword(a, "overflow") && left >= 1 {
            if read_only {
                return Err(CmdError::err(
                    "BITFIELD_RO only supports the GET subcommand",
                ));
            }
            let v = &args[i + 1];
            overflow = match () {
                _ if is_keyword(v, "wrap") => Overflow::Wrap,
                _ if is_keyword(v, "sat") => Overflow::Sat,
                _ if is_keyword(v, "fail") => Overflow::Fail,
                _ => return Err(CmdError::err("Invalid OVERFLOW type specified")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(ops)
}

/// Runs `ops` on a copy of `cur`; returns the replies and the changed
/// byte range with its new bytes.
fn run_bitfield(cur: Option<&[u8]>, ops: &[BfOp]) -> (Vec<Option<i64>>, Option<Patch>) {
    let mut s = cur.map(<[u8]>::to_vec).unwrap_or_default();
    let mut changed: Option<(usize, usize)> = None;
    let mut replies = Vec::with_capacity(ops.len());
    for op in ops {
        match *op {
            BfOp::Get(f, off) => replies.push(Some(to_value(f, get_bits(&s, off, f.bits)))),
            BfOp::Set(f, off, v, o) | BfOp::Incr(f, off, v, o) => {
                let old = to_value(f, get_bits(&s, off, f.bits));
                let target = match op {
                    BfOp::Set(..) => i128::from(v),
                    _ => i128::from(old) + i128::from(v),
                };
                let new = match op {
                    // SET stores the value's low bits (wrapping) unless FAIL/SAT.
                    BfOp::Set(..) if o == Overflow::Wrap => Some(to_value(f, to_raw(f, v))),
                    _ => fit(f, target, o),
                };
                let Some(new) = new else {
                    replies.push(None);
                    continue;
                };
                set_bits(&mut s, off, f.bits, to_raw(f, new));
                let (a, b) = (
                    (off >> 3) as usize,
                    (off + u64::from(f.bits)).div_ceil(8) as usize,
                );
                changed = Some(changed.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
                replies.push(Some(match op {
                    BfOp::Set(..) => old,
                    _ => new,
                }));
            }
        }
    }
    let patch = changed.map(|(a, b)| (a, s[a..b].to_vec()));
    (replies, patch)
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: &[Bytes], read_only: bool) -> CmdResult {
    let ops = parse_bitfield(ctx, args, read_only)?;
    let writes = ops.iter().any(|o| !matches!(o, BfOp::Get(..)));
    let replies = if writes {
        let (replies, wrote) = ctx
            .db()
            .patch_string(&args[1], max_len(ctx), ctx.now(), |cur| {
                let (replies, patch) = run_bitfield(cur, &ops);
                let wrote = patch.is_some();
                Ok((patch, (replies, wrote)))
            })?;
        if wrote {
            ctx.notify(STRING, "setbit", &args[1]);
        }
        replies
    } else {
        let cur = read_string(ctx, &args[1])?;
        run_bitfield(cur.as_deref(), &ops).0
    };
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// BITFIELD key [GET type offset | SET type offset value | INCRBY type
/// offset increment | OVERFLOW WRAP|SAT|FAIL] ...
pub fn bitfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

/// BITFIELD_RO key [GET type offset ...].
pub fn bitfield_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

/// The bitmap commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "setbit",
        arity: 4,
        flags: &["write", "denyoom"],
        keys: K1,
        acl: &["@write", "@bitmap", "@slow"],
        group: "bitmap",
        since: "2.2.0",
        summary: "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
        complexity: "O(1)",
        syntax: "key offset:integer value:integer",
        handler: setbit,
        ..BASE
    },
    CommandSpec {
        name: "getbit",
        arity: 3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@bitmap", "@fast"],
        group: "bitmap",
        since: "2.2.0",
        summary: "Returns a bit value by offset.",
        complexity: "O(1)",
        syntax: "key offset:integer",
        handler: getbit,
        ..BASE
    },
    CommandSpec {
        name: "bitcount",
        arity: -2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@bitmap", "@slow"],
        group: "bitmap",
        since: "2.6.0",
        summary: "Counts the number of set bits (population counting) in a string.",
        complexity: "O(N)",
        syntax: "key [start:integer end:integer [BYTE | BIT]]",
        handler: bitcount,
        ..BASE
    },
    CommandSpec {
        name: "bitpos",
        arity: -3,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@bitmap", "@slow"],
        group: "bitmap",
        since: "2.8.7",
        summary: "Finds the first set (1) or clear (0) bit in a string.",
        complexity: "O(N)",
        syntax: "key bit:integer [start:integer [end:integer [BYTE | BIT]]]",
        handler: bitpos,
        ..BASE
    },
    CommandSpec {
        name: "bitop",
        arity: -4,
        flags: &["write", "denyoom"],
        keys: (2, -1, 1),
        acl: &["@write", "@bitmap", "@slow"],
        group: "bitmap",
        since: "2.6.0",
        summary: "Performs bitwise operations on multiple strings, and stores the result.",
        complexity: "O(N)",
        syntax: "(AND | OR | XOR | NOT | DIFF | DIFF1 | ANDOR | ONE) destkey key [key ...]",
        handler: bitop,
        ..BASE
    },
    CommandSpec {
        name: "bitfield",
        arity: -2,
        flags: &["write", "denyoom"],
        keys: K1,
        acl: &["@write", "@bitmap", "@slow"],
        group: "bitmap",
        since: "3.2.0",
        summary: "Performs arbitrary bitfield integer operations on strings.",
        complexity: "O(1) for each subcommand specified",
        syntax: "key [GET encoding offset | [OVERFLOW (WRAP | SAT | FAIL)] (SET encoding offset value:integer | INCRBY encoding offset increment:integer) ...]",
        handler: bitfield,
        ..BASE
    },
    CommandSpec {
        name: "bitfield_ro",
        arity: -2,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@bitmap", "@fast"],
        group: "bitmap",
        since: "6.0.0",
        summary: "Performs arbitrary read-only bitfield integer operations on strings.",
        complexity: "O(1) for each subcommand specified",
        syntax: "key [GET encoding offset ...]",
        handler: bitfield_ro,
        ..BASE
    },
];
