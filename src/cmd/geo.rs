//! Geo commands on sorted sets: GEOADD GEOPOS GEODIST GEOHASH GEOSEARCH
//! GEOSEARCHSTORE and the older GEORADIUS GEORADIUSBYMEMBER (with their
//! _RO twins). A point is a sorted-set member whose score is its 52-bit
//! geohash ([`super::geohash`]); GEOADD is ZADD with computed scores, and
//! searches scan the score ranges of the cells that cover the area, as
//! Redis does, so results, their order and distances match Redis's.

use bytes::Bytes;
use vexlake_engine::EngineError;
use vexlake_engine::keyspace::Value;
use vexlake_engine::keyspace::zset::ZSetValue;
use vexlake_protocol::args::{is_keyword, parse_f64, parse_i64};

use super::geohash::{self, Extent, Shape};
use super::table::{BASE, CommandSpec, K1};
use super::zsets::read;
use super::{CmdResult, Ctx};
use crate::error::CmdError;
use crate::notify::{GENERIC, ZSET};

/// GEOADD key [NX | XX] [CH] longitude latitude member [...]: ZADD with
/// the points' geohashes as scores.
pub fn geoadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut at = 2;
    let (mut nx, mut xx) = (false, false);
    while at < args.len() {
        match () {
            _ if is_keyword(&args[at], "nx") => nx = true,
            _ if is_keyword(&args[at], "xx") => xx = true,
            _ if is_keyword(&args[at], "ch") => {}
            _ => break,
        }
        at += 1;
    }
    if !(args.len() - at).is_multiple_of(3) || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    let mut zargs: Vec<Bytes> = Vec::with_capacity(at + (args.len() - at) / 3 * 2);
    zargs.push(Bytes::from_static(b"zadd"));
    zargs.extend_from_slice(&args[1..at]);
    for t in args[at..].chunks(3) {
        let (lon, lat) = lon_lat(&t[0], &t[1])?;
        let score = geohash::score(lon, lat).expect("checked limits");
        zargs.push(Bytes::from((score as u64).to_string()));
        zargs.push(t[2].clone());
    }
    super::zsets::zadd(ctx, &zargs)
}

/// A longitude and latitude argument pair, within the geohash limits.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let num = |a: &[u8]| {
        parse_f64(a)
            .filter(|v| !v.is_nan())
            .ok_or(CmdError::NotFloat)
    };
    let (lon, lat) = (num(lon)?, num(lat)?);
    if !(geohash::LON_MIN..=geohash::LON_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(CmdError::err(format!(
            "invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// Meters per unit of `m`, `km`, `ft`, `mi`.
fn unit(a: &[u8]) -> Result<f64, CmdError> {
    match () {
        _ if is_keyword(a, "m") => Ok(1.0),
        _ if is_keyword(a, "km") => Ok(1000.0),
        _ if is_keyword(a, "ft") => Ok(0.3048),
        _ if is_keyword(a, "mi") => Ok(1609.34),
        _ => Err(CmdError::err(
            "unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// A number argument, with Redis's per-argument error text.
fn number(a: &[u8], what: &str) -> Result<f64, CmdError> {
    parse_f64(a)
        .filter(|v| !v.is_nan())
        .ok_or_else(|| CmdError::err(format!("need numeric {what}")))
}

/// The scores of the members `args[2..]` of the sorted set at `args[1]`.
fn member_scores(ctx: &Ctx<'_>, args: &[Bytes]) -> Result<Vec<Option<f64>>, CmdError> {
    read(ctx, &args[1], |z| {
        args[2..]
            .iter()
            .map(|m| z.and_then(|z| z.score(m)))
            .collect()
    })
}

/// GEOPOS key [member ...].
pub fn geopos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let scores = member_scores(ctx, args)?;
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => {
                let (lon, lat) = geohash::point(s);
                ctx.out.array(2);
                ctx.out.double(lon);
                ctx.out.double(lat);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// GEOHASH key [member ...].
pub fn geohash_cmd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let scores = member_scores(ctx, args)?;
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => ctx.out.bulk(geohash::hash_string(s).as_bytes()),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// GEODIST key member1 member2 [M | KM | FT | MI].
pub fn geodist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let pair = read(ctx, &args[1], |z| {
        let z = z?;
        Some((z.score(&args[2])?, z.score(&args[3])?))
    })?;
    match pair {
        Some((a, b)) => {
            let ((lon1, lat1), (lon2, lat2)) = (geohash::point(a), geohash::point(b));
            let d = geohash::distance(lon1, lat1, lon2, lat2) / to_meters;
            ctx.out.bulk(geohash::format_distance(d).as_bytes());
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// Which command form is being parsed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS[_RO] key lon lat radius unit ...
    Radius { store_ok: bool },
    /// GEORADIUSBYMEMBER[_RO] key member radius unit ...
    RadiusByMember { store_ok: bool },
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE dst src ...
    SearchStore,
}

/// Where a search is centred.
#[derive(Clone)]
enum Centre {
    Point(f64, f64),
    Member(Bytes),
}

/// Result order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    None,
    Asc,
    Desc,
}

/// A parsed search.
struct Query {
    src: Bytes,
    centre: Option<Centre>,
    extent: Option<Extent>,
    to_meters: f64,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    order: Order,
    count: usize,
    any: bool,
    store: Option<Bytes>,
    storedist: bool,
}

/// The distance argument pair `radius unit`.
fn radius_args(r: &[u8], u: &[u8]) -> Result<(Extent, f64), CmdError> {
    let radius = number(r, "radius")?;
    if radius < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok((Extent::Radius(radius), unit(u)?))
}

/// Parses any of the search commands, in Redis's order of checks.
fn parse(args: &[Bytes], form: Form) -> Result<Query, CmdError> {
    let name = String::from_utf8_lossy(&args[0]).into_owned();
    let mut q = Query {
        src: args[1].clone(),
        centre: None,
        extent: None,
        to_meters: 1.0,
        withdist: false,
        withhash: false,
        withcoord: false,
        order: Order::None,
        count: 0,
        any: false,
        store: None,
        storedist: false,
    };
    let base = match form {
        Form::Radius { .. } => {
            let (lon, lat) = lon_lat(&args[2], &args[3])?;
            q.centre = Some(Centre::Point(lon, lat));
            (q.extent, q.to_meters) = radius_args(&args[4], &args[5]).map(|(e, u)| (Some(e), u))?;
            6
        }
        Form::RadiusByMember { .. } => {
            q.centre = Some(Centre::Member(args[2].clone()));
            (q.extent, q.to_meters) = radius_args(&args[3], &args[4]).map(|(e, u)| (Some(e), u))?;
            5
        }
        Form::Search => 2,
        Form::SearchStore => {
            q.src = args[2].clone();
            q.store = Some(args[1].clone());
            3
        }
    };
    let store_ok = matches!(
        form,
        Form::Radius { store_ok: true } | Form::RadiusByMember { store_ok: true }
    );
    let search = matches!(form, Form::Search | Form::SearchStore);
    let (mut from_member, mut from_point, mut by_radius, mut by_box) = (false, false, false, false);
    let rest = &args[base..];
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i];
        let left = rest.len() - i - 1;
        match () {
            _ if is_keyword(a, "withdist") => q.withdist = true,
            _ if is_keyword(a, "withhash") => q.withhash = true,
            _ if is_keyword(a, "withcoord") => q.withcoord = true,
            _ if is_keyword(a, "any") => q.any = true,
            _ if is_keyword(a, "asc") => q.order = Order::Asc,
            _ if is_keyword(a, "desc") => q.order = Order::Desc,
            _ if is_keyword(a, "count") && left >= 1 => {
                let c = parse_i64(&rest[i + 1]).ok_or(CmdError::NotInteger)?;
                if c <= 0 {
                    return Err(CmdError::err("COUNT must be > 0"));
                }
                q.count = c as usize;
                i += 1;
            }
            _ if (is_keyword(a, "store") || is_keyword(a, "storedist"))
                && left >= 1
                && store_ok =>
            {
                q.store = Some(rest[i + 1].clone());
                q.storedist = is_keyword(a, "storedist");
                i += 1;
            }
            _ if is_keyword(a, "storedist") && form == Form::SearchStore => q.storedist = true,
            _ if is_keyword(a, "frommember") && left >= 1 && search && !from_point => {
                q.centre = Some(Centre::Member(rest[i + 1].clone()));
                from_member = true;
                i += 1;
            }
            _ if is_keyword(a, "fromlonlat") && left >= 2 && search && !from_member => {
                let (lon, lat) = lon_lat(&rest[i + 1], &rest[i + 2])?;
                q.centre = Some(Centre::Point(lon, lat));
                from_point = true;
                i += 2;
            }
            _ if is_keyword(a, "byradius") && left >= 2 && search && !by_box => {
                let (e, u) = radius_args(&rest[i + 1], &rest[i + 2])?;
                (q.extent, q.to_meters) = (Some(e), u);
                by_radius = true;
                i += 2;
            }
            _ if is_keyword(a, "bybox") && left >= 3 && search && !by_radius => {
                let width = number(&rest[i + 1], "width")?;
                let height = number(&rest[i + 2], "height")?;
                if width < 0.0 || height < 0.0 {
                    return Err(CmdError::err("height or width cannot be negative"));
                }
                q.to_meters = unit(&rest[i + 3])?;
                q.extent = Some(Extent::Box { width, height });
                by_box = true;
                i += 3;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    if q.store.is_some() && (q.withdist || q.withhash || q.withcoord) {
        let what = if form == Form::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::err(format!(
            "{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    if search && !(from_member || from_point) {
        return Err(CmdError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if search && !(by_radius || by_box) {
        return Err(CmdError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if q.any && q.count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    if q.count != 0 && q.order == Order::None && !q.any {
        q.order = Order::Asc;
    }
    Ok(q)
}

/// One match: member, score, distance in meters, position.
struct Hit {
    member: Bytes,
    score: f64,
    dist: f64,
    lon: f64,
    lat: f64,
}

/// The members of `z` inside the query's area, ordered and limited as
/// asked. Errors if the centre member is not in the set.
fn search(z: &ZSetValue, q: &Query) -> Result<Vec<Hit>, EngineError> {
    let (lon, lat) = match q.centre.as_ref().expect("parsed") {
        Centre::Point(lon, lat) => (*lon, *lat),
        Centre::Member(m) => geohash::point(z.score(m).ok_or(EngineError::Refused(
            "could not decode requested zset member",
        ))?),
    };
    let shape = Shape {
        lon,
        lat,
        extent: q.extent.expect("parsed"),
        to_meters: q.to_meters,
    };
    let limit = if q.any { q.count } else { 0 };
    let mut hits = Vec::new();
    'cells: for (min, max) in shape.score_ranges() {
        if limit > 0 && hits.len() >= limit {
            break;
        }
        use std::ops::Bound::{Excluded, Included};
        for (m, score) in z.by_score(Included(min), Excluded(max)) {
            let (plon, plat) = geohash::point(score);
            if let Some(dist) = shape.contains(plon, plat) {
                hits.push(Hit {
                    member: Bytes::copy_from_slice(m),
                    score,
                    dist,
                    lon: plon,
                    lat: plat,
                });
            }
            if limit > 0 && hits.len() >= limit {
                break 'cells;
            }
        }
    }
    match q.order {
        Order::Asc => hits.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Order::Desc => hits.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
        Order::None => {}
    }
    if q.count > 0 {
        hits.truncate(q.count);
    }
    Ok(hits)
}

fn reply_hits(ctx: &mut Ctx<'_>, q: &Query, hits: &[Hit]) {
    let extra = usize::from(q.withdist) + usize::from(q.withhash) + usize::from(q.withcoord);
    ctx.out.array(hits.len());
    for h in hits {
        if extra > 0 {
            ctx.out.array(extra + 1);
        }
        ctx.out.bulk(&h.member);
        if q.withdist {
            ctx.out
                .bulk(geohash::format_distance(h.dist / q.to_meters).as_bytes());
        }
        if q.withhash {
            ctx.out.int(h.score as i64);
        }
        if q.withcoord {
            ctx.out.array(2);
            ctx.out.double(h.lon);
            ctx.out.double(h.lat);
        }
    }
}

fn search_generic(ctx: &mut Ctx<'_>, args: &[Bytes], form: Form) -> CmdResult {
    let src_at = if form == Form::SearchStore { 2 } else { 1 };
    // The source's type is checked before the arguments, as in Redis.
    read(ctx, &args[src_at], |_| ())?;
    let q = parse(args, form)?;
    let Some(dst) = q.store.clone() else {
        let hits = read(ctx, &q.src, |z| z.map(|z| search(z, &q)).transpose())??;
        reply_hits(ctx, &q, &hits.unwrap_or_default());
        return Ok(());
    };
    let keys = [&dst[..], &q.src[..]];
    let (n, existed) = ctx.db().edit_keys(&keys, ctx.now(), |vals| {
        let existed = vals[0].is_some();
        let Some(z) = Value::as_zset(vals[1].as_ref())? else {
            let edits = if existed {
                vec![(0, vexlake_engine::keyspace::Edit::Delete)]
            } else {
                vec![]
            };
            return Ok(((0, existed), edits));
        };
        let items: Vec<(Bytes, f64)> = search(z, &q)?
            .into_iter()
            .map(|h| {
                let s = if q.storedist {
                    h.dist / q.to_meters
                } else {
                    h.score
                };
                (h.member, s)
            })
            .collect();
        Ok(((items.len(), existed), super::zsets::store_edits(0, &items)))
    })?;
    if n > 0 {
        let event = if matches!(form, Form::Search | Form::SearchStore) {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        ctx.notify(ZSET, event, &dst);
    } else if existed {
        ctx.notify(GENERIC, "del", &dst);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// GEORADIUS key longitude latitude radius unit [options] [STORE | STOREDIST key].
pub fn georadius(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    search_generic(ctx, args, Form::Radius { store_ok: true })
}

/// GEORADIUS_RO key longitude latitude radius unit [options].
pub fn georadius_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    search_generic(ctx, args, Form::Radius { store_ok: false })
}

/// GEORADIUSBYMEMBER key member radius unit [options] [STORE | STOREDIST key].
pub fn georadiusbymember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    search_generic(ctx, args, Form::RadiusByMember { store_ok: true })
}

/// GEORADIUSBYMEMBER_RO key member radius unit [options].
pub fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    search_generic(ctx, args, Form::RadiusByMember { store_ok: false })
}

/// GEOSEARCH key (FROMMEMBER m | FROMLONLAT lon lat) (BYRADIUS r unit |
/// BYBOX w h unit) [ASC | DESC] [COUNT n [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH].
pub fn geosearch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    search_generic(ctx, args, Form::Search)
}

/// GEOSEARCHSTORE dst src ... [STOREDIST].
pub fn geosearchstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    search_generic(ctx, args, Form::SearchStore)
}

/// The geo commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "geoadd",
        arity: -5,
        flags: &["write", "denyoom"],
        keys: K1,
        acl: &["@write", "@geo", "@slow"],
        group: "geo",
        since: "3.2.0",
        summary: "Adds one or more members to a geospatial index. The key is created if it doesn't exist.",
        complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        syntax: "key [NX | XX] [CH] longitude:double latitude:double member [longitude:double latitude:double member ...]",
        handler: geoadd,
        ..BASE
    },
    CommandSpec {
        name: "geopos",
        arity: -2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@geo", "@slow"],
        group: "geo",
        since: "3.2.0",
        summary: "Returns the longitude and latitude of members from a geospatial index.",
        complexity: "O(1) for each member requested.",
        syntax: "key [member [member ...]]",
        handler: geopos,
        ..BASE
    },
    CommandSpec {
        name: "geohash",
        arity: -2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@geo", "@slow"],
        group: "geo",
        since: "3.2.0",
        summary: "Returns members from a geospatial index as geohash strings.",
        complexity: "O(1) for each member requested.",
        syntax: "key [member [member ...]]",
        handler: geohash_cmd,
        ..BASE
    },
    CommandSpec {
        name: "geodist",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@geo", "@slow"],
        group: "geo",
        since: "3.2.0",
        summary: "Returns the distance between two members of a geospatial index.",
        complexity: "O(1)",
        syntax: "key member1 member2 [M | KM | FT | MI]",
        handler: geodist,
        ..BASE
    },
    CommandSpec {
        name: "georadius",
        arity: -6,
        flags: &["write", "denyoom"],
        keys: K1,
        acl: &["@write", "@geo", "@slow"],
        group: "geo",
        since: "3.2.0",
        summary: "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.",
        complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
        syntax: "key longitude:double latitude:double radius:double (M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count:integer [ANY]] [ASC | DESC] [STORE key | STOREDIST key]",
        handler: georadius,
        ..BASE
    },
    CommandSpec {
        name: "georadius_ro",
        arity: -6,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@geo", "@slow"],
        group: "geo",
        since: "3.2.10",
        summary: "Returns members from a geospatial index that are within a distance from a coordinate.",
        complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
        syntax: "key longitude:double latitude:double radius:double (M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count:integer [ANY]] [ASC | DESC]",
        handler: georadius_ro,
        ..BASE
    },
    CommandSpec {
        name: "georadiusbymember",
        arity: -5,
        flags: &["write", "denyoom"],
        keys: K1,
        acl: &["@write", "@geo", "@slow"],
        group: "geo",
        since: "3.2.0",
        summary: "Queries a geospatial index for members within a distance from a member, optionally stores the result.",
        complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
        syntax: "key member radius:double (M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count:integer [ANY]] [ASC | DESC] [STORE key | STOREDIST key]",
        handler: georadiusbymember,
        ..BASE
    },
    CommandSpec {
        name: "georadiusbymember_ro",
        arity: -5,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@geo", "@slow"],
        group: "geo",
        since: "3.2.10",
        summary: "Returns members from a geospatial index that are within a distance from a member.",
        complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
        syntax: "key member radius:double (M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count:integer [ANY]] [ASC | DESC]",
        handler: georadiusbymember_ro,
        ..BASE
    },
    CommandSpec {
        name: "geosearch",
        arity: -7,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@geo", "@slow"],
        group: "geo",
        since: "6.2.0",
        summary: "Queries a geospatial index for members inside an area of a box or a circle.",
        complexity: "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape",
        syntax: "key (FROMMEMBER member | FROMLONLAT longitude:double latitude:double) (BYRADIUS radius:double (M | KM | FT | MI) | BYBOX width:double height:double (M | KM | FT | MI)) [ASC | DESC] [COUNT count:integer [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]",
        handler: geosearch,
        ..BASE
    },
    CommandSpec {
        name: "geosearchstore",
        arity: -8,
        flags: &["write", "denyoom"],
        keys: (1, 2, 1),
        acl: &["@write", "@geo", "@slow"],
        group: "geo",
        since: "6.2.0",
        summary: "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.",
        complexity: "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape",
        syntax: "destination source (FROMMEMBER member | FROMLONLAT longitude:double latitude:double) (BYRADIUS radius:double (M | KM | FT | MI) | BYBOX width:double height:double (M | KM | FT | MI)) [ASC | DESC] [COUNT count:integer [ANY]] [STOREDIST]",
        handler: geosearchstore,
        ..BASE
    },
];
