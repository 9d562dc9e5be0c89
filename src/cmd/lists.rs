//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LINDEX LRANGE
//! LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP. Each returns the
//! edits it makes (pushes, pops by count, removals by position), which
//! the engine logs and applies. The blocking variants are in
//! [`super::list_blocking`].

use bytes::Bytes;
use vexlake_engine::keyspace::list::ListValue;
use vexlake_engine::keyspace::{Edit, Edits, Value};
use vexlake_engine::{Db, EngineError};
use vexlake_protocol::args::{is_keyword, parse_i64};

use super::table::{BASE, CommandSpec, K1};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::LIST;

/// Notifies `event` on `key`, and `del` when the command emptied it.
fn notify(ctx: &Ctx<'_>, event: &str, key: &[u8], emptied: bool) {
    super::collection::notify_change(ctx, LIST, event, key, emptied);
}

fn read<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&ListValue>) -> R,
) -> Result<R, CmdError> {
    Ok(ctx
        .db()
        .view(key, ctx.now(), |v| Value::as_list(v).map(f))?)
}

/// A list end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    Left,
    Right,
}

impl End {
    /// LEFT or RIGHT (Redis's syntax error otherwise).
    pub fn parse(a: &[u8]) -> Result<End, CmdError> {
        if is_keyword(a, "left") {
            Ok(End::Left)
        } else if is_keyword(a, "right") {
            Ok(End::Right)
        } else {
            Err(CmdError::Syntax)
        }
    }

    fn push(self, elem: Bytes) -> Edit<Bytes> {
        match self {
            End::Left => Edit::LPush { elem },
            End::Right => Edit::RPush { elem },
        }
    }

    fn pop(self, count: usize) -> Edit<Bytes> {
        match self {
            End::Left => Edit::LPop {
                count: count as u64,
            },
            End::Right => Edit::RPop {
                count: count as u64,
            },
        }
    }

    /// The first `count` elements from this end.
    fn take(self, l: &ListValue, count: usize) -> Vec<Bytes> {
        match self {
            End::Left => l.iter().take(count).map(Bytes::copy_from_slice).collect(),
            End::Right => l
                .iter()
                .rev()
                .take(count)
                .map(Bytes::copy_from_slice)
                .collect(),
        }
    }

    /// The event name of a push (`lpush`/`rpush`) or pop.
    pub fn event(self, push: bool) -> &'static str {
        match (self, push) {
            (End::Left, true) => "lpush",
            (End::Right, true) => "rpush",
            (End::Left, false) => "lpop",
            (End::Right, false) => "rpop",
        }
    }
}

fn push_generic(ctx: &mut Ctx<'_>, args: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let len = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let l = Value::as_list(cur)?;
        if only_existing && l.is_none() {
            return Ok((0, vec![]));
        }
        let edits: Vec<Edit<Bytes>> = args[2..].iter().map(|e| end.push(e.clone())).collect();
        Ok((l.map_or(0, |l| l.len()) + edits.len(), edits))
    })?;
    if len > 0 {
        ctx.notify(LIST, end.event(true), &args[1]);
    }
    ctx.out.int(len as i64);
    Ok(())
}

/// LPUSH key element [element ...].
pub fn lpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Left, false)
}

/// RPUSH key element [element ...].
pub fn rpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Right, false)
}

/// LPUSHX key element [element ...].
pub fn lpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Left, true)
}

/// RPUSHX key element [element ...].
pub fn rpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, End::Right, true)
}

/// Pops up to `count` elements from `end` of the list at `key`: None when
/// the key is missing, else the elements and whether the list emptied.
pub fn pop(
    db: &Db,
    key: &[u8],
    end: End,
    count: usize,
    now: u64,
) -> Result<Option<(Vec<Bytes>, bool)>, EngineError> {
    db.edit(key, now, |cur| {
        let Some(l) = Value::as_list(cur)? else {
            return Ok((None, vec![]));
        };
        let taken = end.take(l, count);
        let emptied = taken.len() == l.len();
        let edits = if taken.is_empty() {
            vec![]
        } else {
            vec![end.pop(taken.len())]
        };
        Ok((Some((taken, emptied)), edits))
    })
}

fn pop_generic(ctx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity(ctx.conn.last_cmd));
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => Some(
            parse_i64(a)
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::err("value is out of range, must be positive"))?
                as usize,
        ),
    };
    let popped = pop(ctx.db(), &args[1], end, count.unwrap_or(1), ctx.now())?;
    if let Some((elems, emptied)) = &popped
        && !elems.is_empty()
    {
        notify(ctx, end.event(false), &args[1], *emptied);
    }
    match (count, popped) {
        (None, Some((e, _))) => match e.first() {
            Some(e) => ctx.out.bulk(e),
            None => ctx.out.null(),
        },
        (None, None) => ctx.out.null(),
        (Some(_), None) => ctx.out.null_array(),
        (Some(_), Some((e, _))) => {
            ctx.out.array(e.len());
            for x in e {
                ctx.out.bulk(&x);
            }
        }
    }
    Ok(())
}

/// LPOP key [count].
pub fn lpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, End::Left)
}

/// RPOP key [count].
pub fn rpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, End::Right)
}

/// LLEN key.
pub fn llen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = read(ctx, &args[1], |l| l.map_or(0, |l| l.len()))?;
    ctx.out.int(n as i64);
    Ok(())
}

/// Index `i` (negative from the tail) into a list of `len`, if inside.
fn index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// LINDEX key index.
pub fn lindex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let i = int_arg(&args[2])?;
    match read(ctx, &args[1], |l| {
        l.and_then(|l| index(i, l.len()).and_then(|i| l.get(i).map(Bytes::copy_from_slice)))
    })? {
        Some(e) => ctx.out.bulk(&e),
        None => ctx.out.null(),
    }
    Ok(())
}

/// LRANGE key start stop.
pub fn lrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let elems: Vec<Bytes> = read(ctx, &args[1], |l| {
        let Some(l) = l else { return Vec::new() };
        let r = super::collection::index_range(start, stop, l.len());
        l.range(r.start, r.end)
            .map(Bytes::copy_from_slice)
            .collect()
    })?;
    ctx.out.array(elems.len());
    for e in elems {
        ctx.out.bulk(&e);
    }
    Ok(())
}

/// LSET key index element.
pub fn lset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now();
    ctx.db().edit(&args[1], now, |cur| {
        let Some(l) = Value::as_list(cur)? else {
            return Err(EngineError::NoSuchKey);
        };
        let i = parse_i64(&args[2]).ok_or(EngineError::NotInteger)?;
        let i = index(i, l.len()).ok_or(EngineError::Refused("index out of range"))?;
        Ok((
            (),
            vec![Edit::LSet {
                index: i as u64,
                elem: args[3].clone(),
            }],
        ))
    })?;
    ctx.notify(LIST, "lset", &args[1]);
    ctx.out.ok();
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element.
pub fn linsert(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let after = if is_keyword(&args[2], "after") {
        true
    } else if is_keyword(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let len = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let Some(l) = Value::as_list(cur)? else {
            return Ok((0, vec![]));
        };
        let Some(pos) = l.iter().position(|e| e == args[3]) else {
            return Ok((-1, vec![]));
        };
        let at = pos + usize::from(after);
        Ok((
            l.len() as i64 + 1,
            vec![Edit::LInsert {
                index: at as u64,
                elem: args[4].clone(),
            }],
        ))
    })?;
    if len > 0 {
        ctx.notify(LIST, "linsert", &args[1]);
    }
    ctx.out.int(len);
    Ok(())
}

/// LREM key count element.
pub fn lrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = int_arg(&args[2])?;
    let elem = &args[3];
    let (removed, emptied) = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let Some(l) = Value::as_list(cur)? else {
            return Ok(((0, false), vec![]));
        };
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut at: Vec<usize> = if count >= 0 {
            l.iter()
                .enumerate()
                .filter(|(_, e)| *e == elem)
                .map(|(i, _)| i)
                .take(limit)
                .collect()
        } else {
            let n = l.len();
            l.iter()
                .rev()
                .enumerate()
                .filter(|(_, e)| *e == elem)
                .map(|(i, _)| n - 1 - i)
                .take(limit)
                .collect()
        };
        // Highest position first, so earlier removals do not shift later ones.
        at.sort_unstable_by(|a, b| b.cmp(a));
        let edits: Vec<Edit<Bytes>> = at
            .iter()
            .map(|&i| Edit::LRemAt { index: i as u64 })
            .collect();
        Ok(((at.len(), !at.is_empty() && at.len() == l.len()), edits))
    })?;
    if removed > 0 {
        notify(ctx, "lrem", &args[1], emptied);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// LTRIM key start stop.
pub fn ltrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let (changed, emptied) = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let Some(l) = Value::as_list(cur)? else {
            return Ok(((false, false), vec![]));
        };
        let r = super::collection::index_range(start, stop, l.len());
        if r.is_empty() {
            return Ok(((true, true), vec![Edit::Delete]));
        }
        let edits = if r.start == 0 && r.end == l.len() {
            vec![]
        } else {
            vec![Edit::LTrim {
                start: r.start as u64,
                end: r.end as u64,
            }]
        };
        Ok(((true, false), edits))
    })?;
    if changed {
        notify(ctx, "ltrim", &args[1], emptied);
    }
    ctx.out.ok();
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
pub fn lpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        let a = &args[i];
        if is_keyword(a, "rank") && more {
            let r = int_arg(&args[i + 1])?;
            if r == i64::MIN {
                return Err(CmdError::err("value is out of range"));
            }
            if r == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
            rank = r;
        } else if is_keyword(a, "count") && more {
            count = Some(
                parse_i64(&args[i + 1])
                    .filter(|&c| c >= 0)
                    .ok_or_else(|| CmdError::err("COUNT can't be negative"))?
                    as usize,
            );
        } else if is_keyword(a, "maxlen") && more {
            maxlen = parse_i64(&args[i + 1])
                .filter(|&c| c >= 0)
                .ok_or_else(|| CmdError::err("MAXLEN can't be negative"))?
                as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let elem = &args[2];
    let found: Option<Vec<i64>> = read(ctx, &args[1], |l| {
        let l = l?;
        let want = match count {
            Some(0) => usize::MAX,
            Some(c) => c,
            None => 1,
        };
        let limit = if maxlen == 0 { usize::MAX } else { maxlen };
        let skip = rank.unsigned_abs() as usize - 1;
        let n = l.len();
        let hits: Vec<i64> = if rank > 0 {
            l.iter()
                .take(limit)
                .enumerate()
                .filter(|(_, e)| *e == elem)
                .map(|(i, _)| i as i64)
                .skip(skip)
                .take(want)
                .collect()
        } else {
            l.iter()
                .rev()
                .take(limit)
                .enumerate()
                .filter(|(_, e)| *e == elem)
                .map(|(i, _)| (n - 1 - i) as i64)
                .skip(skip)
                .take(want)
                .collect()
        };
        Some(hits)
    })?;
    match (count, found) {
        (None, Some(h)) if !h.is_empty() => ctx.out.int(h[0]),
        (None, _) => ctx.out.null(),
        (Some(_), h) => {
            let h = h.unwrap_or_default();
            ctx.out.array(h.len());
            for x in h {
                ctx.out.int(x);
            }
        }
    }
    Ok(())
}

/// Moves one element from `from` of `src` to `to` of `dst` (LMOVE);
/// None when `src` is missing. Also says whether `src` was emptied.
pub fn move_one(
    db: &Db,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    now: u64,
) -> Result<Option<(Bytes, bool)>, EngineError> {
    db.edit_keys(&[src, dst], now, |vals| {
        let s = Value::as_list(vals[0].as_ref())?;
        Value::as_list(vals[1].as_ref())?;
        let Some(s) = s else {
            return Ok((None, vec![]));
        };
        let elem = from.take(s, 1).pop().expect("lists are never empty");
        let edits: Edits = vec![(0, from.pop(1)), (1, to.push(elem.clone()))];
        Ok((Some((elem, s.len() == 1 && src != dst)), edits))
    })
}

/// Notifies an LMOVE's events.
pub fn notify_move(ctx: &Ctx<'_>, src: &[u8], dst: &[u8], from: End, to: End, emptied: bool) {
    notify(ctx, from.event(false), src, emptied);
    ctx.notify(LIST, to.event(true), dst);
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT.
pub fn lmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (from, to) = (End::parse(&args[3])?, End::parse(&args[4])?);
    move_reply(ctx, &args[1], &args[2], from, to)
}

/// RPOPLPUSH source destination.
pub fn rpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    move_reply(ctx, &args[1], &args[2], End::Right, End::Left)
}

fn move_reply(ctx: &mut Ctx<'_>, src: &Bytes, dst: &Bytes, from: End, to: End) -> CmdResult {
    match move_one(ctx.db(), src, dst, from, to, ctx.now())? {
        Some((e, emptied)) => {
            notify_move(ctx, src, dst, from, to, emptied);
            ctx.out.bulk(&e);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// Parsed `numkeys key... LEFT|RIGHT [COUNT count]` of LMPOP/BLMPOP
/// starting at `args[at]`.
pub struct MpopArgs<'a> {
    pub keys: &'a [Bytes],
    pub end: End,
    pub count: usize,
}

pub fn parse_mpop(args: &[Bytes], at: usize) -> Result<MpopArgs<'_>, CmdError> {
    let (keys, end, count) = super::collection::keys_side_count(args, at, |a| End::parse(a).ok())?;
    Ok(MpopArgs { keys, end, count })
}

/// Pops from the first non-empty list of `a.keys`: (key, elements,
/// emptied).
pub fn mpop(
    db: &Db,
    a: &MpopArgs<'_>,
    now: u64,
) -> Result<Option<(Bytes, Vec<Bytes>, bool)>, EngineError> {
    for k in a.keys {
        if let Some((elems, emptied)) = pop(db, k, a.end, a.count, now)?
            && !elems.is_empty()
        {
            return Ok(Some((k.clone(), elems, emptied)));
        }
    }
    Ok(None)
}

/// Writes an *MPOP reply.
pub fn mpop_reply(ctx: &mut Ctx<'_>, end: End, popped: Option<(Bytes, Vec<Bytes>, bool)>) {
    match popped {
        Some((k, elems, emptied)) => {
            notify(ctx, end.event(false), &k, emptied);
            ctx.out.array(2);
            ctx.out.bulk(&k);
            ctx.out.array(elems.len());
            for e in elems {
                ctx.out.bulk(&e);
            }
        }
        None => ctx.out.null_array(),
    }
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
pub fn lmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = parse_mpop(args, 1)?;
    let popped = mpop(ctx.db(), &a, ctx.now())?;
    mpop_reply(ctx, a.end, popped);
    Ok(())
}

/// The list commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "lpush",
        arity: -3,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@list", "@fast"],
        group: "list",
        since: "1.0.0",
        summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
        complexity: "O(1) for each element added",
        syntax: "key element [element ...]",
        handler: lpush,
        ..BASE
    },
    CommandSpec {
        name: "rpush",
        arity: -3,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@list", "@fast"],
        group: "list",
        since: "1.0.0",
        summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.",
        complexity: "O(1) for each element added",
        syntax: "key element [element ...]",
        handler: rpush,
        ..BASE
    },
    CommandSpec {
        name: "lpushx",
        arity: -3,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@list", "@fast"],
        group: "list",
        since: "2.2.0",
        summary: "Prepends one or more elements to a list only when the list exists.",
        complexity: "O(1) for each element added",
        syntax: "key element [element ...]",
        handler: lpushx,
        ..BASE
    },
    CommandSpec {
        name: "rpushx",
        arity: -3,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@list", "@fast"],
        group: "list",
        since: "2.2.0",
        summary: "Appends an element to a list only when the list exists.",
        complexity: "O(1) for each element added",
        syntax: "key element [element ...]",
        handler: rpushx,
        ..BASE
    },
    CommandSpec {
        name: "lpop",
        arity: -2,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@list", "@fast"],
        group: "list",
        since: "1.0.0",
        summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
        complexity: "O(N) where N is the number of elements returned",
        syntax: "key [count:integer]",
        handler: lpop,
        ..BASE
    },
    CommandSpec {
        name: "rpop",
        arity: -2,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@list", "@fast"],
        group: "list",
        since: "1.0.0",
        summary: "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
        complexity: "O(N) where N is the number of elements returned",
        syntax: "key [count:integer]",
        handler: rpop,
        ..BASE
    },
    CommandSpec {
        name: "llen",
        arity: 2,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@list", "@fast"],
        group: "list",
        since: "1.0.0",
        summary: "Returns the length of a list.",
        complexity: "O(1)",
        syntax: "key",
        handler: llen,
        ..BASE
    },
    CommandSpec {
        name: "lindex",
        arity: 3,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@list", "@slow"],
        group: "list",
        since: "1.0.0",
        summary: "Returns an element from a list by its index.",
        complexity: "O(N) where N is the number of elements to traverse to get to the element at index.",
        syntax: "key index:integer",
        handler: lindex,
        ..BASE
    },
    CommandSpec {
        name: "lrange",
        arity: 4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@list", "@slow"],
        group: "list",
        since: "1.0.0",
        summary: "Returns a range of elements from a list.",
        complexity: "O(S+N) where S is the distance of start offset from HEAD and N is the number of elements in the specified range.",
        syntax: "key start:integer stop:integer",
        handler: lrange,
        ..BASE
    },
    CommandSpec {
        name: "lset",
        arity: 4,
        flags: &["write", "denyoom"],
        keys: K1,
        acl: &["@write", "@list", "@slow"],
        group: "list",
        since: "1.0.0",
        summary: "Sets the value of an element in a list by its index.",
        complexity: "O(N) where N is the length of the list.",
        syntax: "key index:integer element",
        handler: lset,
        ..BASE
    },
    CommandSpec {
        name: "linsert",
        arity: 5,
        flags: &["write", "denyoom"],
        keys: K1,
        acl: &["@write", "@list", "@slow"],
        group: "list",
        since: "2.2.0",
        summary: "Inserts an element before or after another element in a list.",
        complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot.",
        syntax: "key (BEFORE | AFTER) pivot element",
        handler: linsert,
        ..BASE
    },
    CommandSpec {
        name: "lrem",
        arity: 4,
        flags: &["write"],
        keys: K1,
        acl: &["@write", "@list", "@slow"],
        group: "list",
        since: "1.0.0",
        summary: "Removes elements from a list. Deletes the list if the last element was removed.",
        complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.",
        syntax: "key count:integer element",
        handler: lrem,
        ..BASE
    },
    CommandSpec {
        name: "ltrim",
        arity: 4,
        flags: &["write"],
        keys: K1,
        acl: &["@write", "@list", "@slow"],
        group: "list",
        since: "1.0.0",
        summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
        complexity: "O(N) where N is the number of elements to be removed by the operation.",
        syntax: "key start:integer stop:integer",
        handler: ltrim,
        ..BASE
    },
    CommandSpec {
        name: "lpos",
        arity: -3,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@list", "@slow"],
        group: "list",
        since: "6.0.6",
        summary: "Returns the index of matching elements in a list.",
        complexity: "O(N) where N is the number of elements in the list, for the average case.",
        syntax: "key element [RANK rank:integer] [COUNT num-matches:integer] [MAXLEN len:integer]",
        handler: lpos,
        ..BASE
    },
    CommandSpec {
        name: "lmove",
        arity: 5,
        flags: &["write", "denyoom"],
        keys: (1, 2, 1),
        acl: &["@write", "@list", "@slow"],
        group: "list",
        since: "6.2.0",
        summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
        complexity: "O(1)",
        syntax: "source destination (LEFT | RIGHT) (LEFT | RIGHT)",
        handler: lmove,
        ..BASE
    },
    CommandSpec {
        name: "rpoplpush",
        arity: 3,
        flags: &["write", "denyoom"],
        keys: (1, 2, 1),
        acl: &["@write", "@list", "@slow"],
        group: "list",
        since: "1.2.0",
        summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
        complexity: "O(1)",
        syntax: "source destination",
        handler: rpoplpush,
        ..BASE
    },
    CommandSpec {
        name: "lmpop",
        arity: -4,
        flags: &["write", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@write", "@list", "@slow"],
        group: "list",
        since: "7.0.0",
        summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
        complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        syntax: "numkeys:integer key [key ...] (LEFT | RIGHT) [COUNT count:integer]",
        handler: lmpop,
        ..BASE
    },
];
