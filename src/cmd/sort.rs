//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted
//! numerically (or with ALPHA, bytewise), optionally by the values of
//! other keys (`BY weight_*`, `BY obj_*->field`), with LIMIT, and
//! replaced by other keys' values (`GET #`, `GET data_*`, `GET h_*->f`);
//! STORE puts the result in a list.
//!
//! The source is read under its key's lock; the BY and GET keys are read
//! afterwards one by one (Redis reads them all in one step).

use bytes::Bytes;
use vexlake_engine::EngineError;
use vexlake_engine::keyspace::{Edit, Value};
use vexlake_protocol::args::{is_keyword, parse_f64};

use super::table::{BASE, CommandSpec, K1};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::{GENERIC, LIST};

/// Parsed SORT options.
struct SortArgs {
    by: Option<Bytes>,
    limit: Option<(i64, i64)>,
    gets: Vec<Bytes>,
    desc: bool,
    alpha: bool,
    store: Option<Bytes>,
}

fn parse(args: &[Bytes], read_only: bool) -> Result<SortArgs, CmdError> {
    let mut a = SortArgs {
        by: None,
        limit: None,
        gets: Vec::new(),
        desc: false,
        alpha: false,
        store: None,
    };
    let mut i = 2;
    while i < args.len() {
        let w = &args[i];
        let left = args.len() - i - 1;
        if is_keyword(w, "asc") {
            a.desc = false;
        } else if is_keyword(w, "desc") {
            a.desc = true;
        } else if is_keyword(w, "alpha") {
            a.alpha = true;
        } else if is_keyword(w, "limit") && left >= 2 {
            a.limit = Some((int_arg(&args[i + 1])?, int_arg(&args[i + 2])?));
            i += 2;
        } else if is_keyword(w, "store") && left >= 1 && !read_only {
            a.store = Some(args[i + 1].clone());
            i += 1;
        } else if is_keyword(w, "by") && left >= 1 {
            a.by = Some(args[i + 1].clone());
            i += 1;
        } else if is_keyword(w, "get") && left >= 1 {
            a.gets.push(args[i + 1].clone());
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(a)
}

/// The value `pattern` names for `elem`: `#` is the element itself;
/// otherwise the first `*` is replaced by the element, and `->field`
/// after it reads a hash field. A pattern without `*` names nothing.
fn lookup(ctx: &Ctx<'_>, pattern: &[u8], elem: &[u8]) -> Result<Option<Bytes>, CmdError> {
    if pattern == b"#" {
        return Ok(Some(Bytes::copy_from_slice(elem)));
    }
    let Some(star) = pattern.iter().position(|&b| b == b'*') else {
        return Ok(None);
    };
    let arrow = pattern[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|p| star + 1 + p)
        .filter(|&p| p + 2 < pattern.len());
    let key_end = arrow.unwrap_or(pattern.len());
    let mut key = Vec::with_capacity(key_end + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let field = arrow.map(|p| &pattern[p + 2..]);
    Ok(ctx.db().view(&key, ctx.now(), |v| match (v, field) {
        (Some(Value::Str(s)), None) => Some(s.clone()),
        (Some(Value::Hash(h)), Some(f)) => h.get(f).map(Bytes::copy_from_slice),
        _ => None,
    }))
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &[Bytes], read_only: bool) -> CmdResult {
    let a = parse(args, read_only)?;
    // The source's elements, and whether its own order is kept (BY
    // without `*`).
    let dont_sort = a.by.as_ref().is_some_and(|b| !b.contains(&b'*'));
    let (mut elems, ordered) = ctx.db().view(&args[1], ctx.now(), |v| match v {
        None => Ok((Vec::new(), false)),
        Some(Value::List(l)) => Ok((l.iter().map(Bytes::copy_from_slice).collect(), true)),
        Some(Value::Set(s)) => Ok((s.iter().map(Bytes::copy_from_slice).collect(), false)),
        Some(Value::ZSet(z)) => Ok((
            z.ordered()
                .map(|(m, _)| Bytes::copy_from_slice(m))
                .collect(),
            true,
        )),
        Some(_) => Err(EngineError::WrongType),
    })?;
    if dont_sort && !ordered {
        // A set has no order of its own: Redis sorts it bytewise.
        elems.sort();
    }
    if !dont_sort {
        let mut keyed: Vec<(Bytes, Option<Bytes>)> = Vec::with_capacity(elems.len());
        for e in elems {
            let k = match &a.by {
                Some(p) => lookup(ctx, p, &e)?,
                None => Some(e.clone()),
            };
            keyed.push((e, k));
        }
        if a.alpha {
            keyed.sort_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
        } else {
            let mut scored = Vec::with_capacity(keyed.len());
            for (e, k) in keyed {
                let s = match &k {
                    None => 0.0,
                    Some(b) => parse_f64(b).filter(|v| !v.is_nan()).ok_or_else(|| {
                        CmdError::err("One or more scores can't be converted into double")
                    })?,
                };
                scored.push((e, s));
            }
            scored.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
            keyed = scored.into_iter().map(|(e, _)| (e, None)).collect();
        }
        elems = keyed.into_iter().map(|(e, _)| e).collect();
        if a.desc {
            elems.reverse();
        }
    } else if a.desc && ordered {
        elems.reverse();
    }
    if let Some((offset, count)) = a.limit {
        let start = offset.max(0) as usize;
        let n = if count < 0 {
            usize::MAX
        } else {
            count as usize
        };
        elems = elems.into_iter().skip(start).take(n).collect();
    }
    let mut out: Vec<Option<Bytes>> = Vec::new();
    if a.gets.is_empty() {
        out.extend(elems.into_iter().map(Some));
    } else {
        for e in &elems {
            for g in &a.gets {
                out.push(lookup(ctx, g, e)?);
            }
        }
    }
    let Some(dst) = a.store else {
        ctx.out.array(out.len());
        for v in out {
            match v {
                Some(v) => ctx.out.bulk(&v),
                None => ctx.out.null(),
            }
        }
        return Ok(());
    };
    // STORE: a list of the results (a missing value is an empty string).
    let n = out.len();
    let existed = ctx.db().edit(&dst, ctx.now(), |cur| {
        let mut edits = vec![Edit::Delete];
        edits.extend(out.into_iter().map(|v| Edit::RPush {
            elem: v.unwrap_or_default(),
        }));
        Ok((cur.is_some(), edits))
    })?;
    if n > 0 {
        ctx.notify(LIST, "sortstore", &dst);
    } else if existed {
        ctx.notify(GENERIC, "del", &dst);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA] [STORE destination].
pub fn sort(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA].
pub fn sort_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, true)
}

/// SORT and SORT_RO.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sort",
        arity: -2,
        flags: &["write", "denyoom", "movablekeys"],
        keys: K1,
        acl: &[
            "@write",
            "@set",
            "@sortedset",
            "@list",
            "@slow",
            "@dangerous",
        ],
        group: "generic",
        since: "1.0.0",
        summary: "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
        complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
        syntax: "key [BY pattern:pattern] [LIMIT offset:integer count:integer] [GET pattern:pattern [GET pattern:pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]",
        handler: sort,
        ..BASE
    },
    CommandSpec {
        name: "sort_ro",
        arity: -2,
        flags: &["readonly"],
        keys: K1,
        acl: &[
            "@read",
            "@set",
            "@sortedset",
            "@list",
            "@slow",
            "@dangerous",
        ],
        group: "generic",
        since: "7.0.0",
        summary: "Returns the sorted elements of a list, a set, or a sorted set.",
        complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
        syntax: "key [BY pattern:pattern] [LIMIT offset:integer count:integer] [GET pattern:pattern [GET pattern:pattern ...]] [ASC | DESC] [ALPHA]",
        handler: sort_ro,
        ..BASE
    },
];
