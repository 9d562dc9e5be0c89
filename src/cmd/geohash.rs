//! Redis's geohash arithmetic, bit for bit: a point is stored in a sorted
//! set as the 52-bit interleaved geohash of its longitude and latitude
//! (latitudes limited to ±85.05112878, as in Web Mercator), a search area
//! is covered by a geohash cell and its eight neighbours whose score
//! ranges are scanned, and distances are haversine distances on a sphere
//! of Redis's radius. Doing it exactly as Redis does gives the same
//! positions, distances, hashes and result order.

/// Longitude limits.
pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
/// Latitude limits (EPSG:900913).
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Bits per coordinate of a stored score (26 * 2 = 52).
const STEP_MAX: u8 = 26;
/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
const EARTH_RADIUS_M: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A geohash of `step` bits per coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hash {
    bits: u64,
    step: u8,
}

/// The (min, max) of a coordinate range.
type Range = (f64, f64);

/// The cell a hash names.
#[derive(Clone, Copy, Debug)]
struct Area {
    lon: Range,
    lat: Range,
}

/// Interleaves the low 32 bits of `x` (even bits) and `y` (odd bits).
fn interleave64(x: u32, y: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// Splits interleaved bits: even bits in the low word, odd in the high.
fn deinterleave64(v: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (v, v >> 1);
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if !(LON_MIN..=LON_MAX).contains(&lon)
        || !(LAT_MIN..=LAT_MAX).contains(&lat)
        || lat < lat_r.0
        || lat > lat_r.1
        || lon < lon_r.0
        || lon > lon_r.1
    {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.0) / (lat_r.1 - lat_r.0) * scale;
    let lon_off = (lon - lon_r.0) / (lon_r.1 - lon_r.0) * scale;
    Some(Hash {
        bits: interleave64(lat_off as u32, lon_off as u32),
        step,
    })
}

fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<Hash> {
    encode((LON_MIN, LON_MAX), (LAT_MIN, LAT_MAX), lon, lat, step)
}

fn decode(h: Hash) -> Area {
    let sep = deinterleave64(h.bits);
    let (ilat, ilon) = (sep as u32, (sep >> 32) as u32);
    let scale = (1u64 << h.step) as f64;
    let (lat_s, lon_s) = (LAT_MAX - LAT_MIN, LON_MAX - LON_MIN);
    Area {
        lat: (
            LAT_MIN + (f64::from(ilat) / scale) * lat_s,
            LAT_MIN + ((f64::from(ilat) + 1.0) / scale) * lat_s,
        ),
        lon: (
            LON_MIN + (f64::from(ilon) / scale) * lon_s,
            LON_MIN + ((f64::from(ilon) + 1.0) / scale) * lon_s,
        ),
    }
}

/// The 52-bit value of `h` (its bits shifted to the top of 52).
fn align52(h: Hash) -> u64 {
    h.bits << (52 - u32::from(h.step) * 2)
}

/// The sorted-set score of a point, or None outside the limits.
pub fn score(lon: f64, lat: f64) -> Option<f64> {
    encode_wgs84(lon, lat, STEP_MAX).map(|h| align52(h) as f64)
}

/// The point (longitude, latitude) a score stands for: its cell's centre.
pub fn point(score: f64) -> (f64, f64) {
    let a = decode(Hash {
        bits: score as u64,
        step: STEP_MAX,
    });
    let lon = ((a.lon.0 + a.lon.1) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((a.lat.0 + a.lat.1) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The standard 11-character geohash (latitudes ±90) of a score.
pub fn hash_string(score: f64) -> String {
    const ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = point(score);
    let bits = encode((-180.0, 180.0), (-90.0, 90.0), lon, lat, 26).map_or(0, |h| h.bits);
    (0..11)
        .map(|i| {
            let idx = if i == 10 {
                0
            } else {
                (bits >> (52 - (i + 1) * 5)) & 0x1f
            };
            ALPHABET[idx as usize] as char
        })
        .collect()
}

fn deg_rad(d: f64) -> f64 {
    d * D_R
}

fn rad_deg(r: f64) -> f64 {
    r / D_R
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// The haversine distance in meters between two points.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// A search area around a centre; sizes in the query's unit.
#[derive(Clone, Copy, Debug)]
pub enum Extent {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search area: centre, extent, and meters per unit.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub extent: Extent,
    pub to_meters: f64,
}

impl Shape {
    /// The distance in meters from the centre to `(lon, lat)` if the
    /// point is inside the shape.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.extent {
            Extent::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.to_meters).then_some(d)
            }
            Extent::Box { width, height } => {
                let (w, h) = (width * self.to_meters, height * self.to_meters);
                if lat_distance(lat, self.lat) > h / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// (min lon, min lat, max lon, max lat) of the shape.
    fn bounds(&self) -> [f64; 4] {
        let (w, h) = match self.extent {
            Extent::Radius(r) => (r, r),
            Extent::Box { width, height } => (width / 2.0, height / 2.0),
        };
        let (w, h) = (w * self.to_meters, h * self.to_meters);
        let lat_delta = rad_deg(h / EARTH_RADIUS_M);
        let top = rad_deg(w / EARTH_RADIUS_M / deg_rad(self.lat + lat_delta).cos());
        let bottom = rad_deg(w / EARTH_RADIUS_M / deg_rad(self.lat - lat_delta).cos());
        let d = if self.lat < 0.0 { bottom } else { top };
        [
            self.lon - d,
            self.lat - lat_delta,
            self.lon + d,
            self.lat + lat_delta,
        ]
    }

    /// The score ranges `[min, max)` to scan: the centre's cell and its
    /// neighbours, in Redis's order, skipping those that cannot hold a
    /// match and a neighbour equal to the one scanned just before it.
    pub fn score_ranges(&self) -> Vec<(f64, f64)> {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let radius = match self.extent {
            Extent::Radius(r) => r,
            Extent::Box { width, height } => {
                ((width / 2.0).powi(2) + (height / 2.0).powi(2)).sqrt()
            }
        } * self.to_meters;
        let mut steps = estimate_steps(radius, self.lat);
        let at = |steps| {
            let h = encode_wgs84(self.lon, self.lat, steps).expect("centre within limits");
            (h, neighbours(h), decode(h))
        };
        let (mut hash, mut nb, mut area) = at(steps);
        let [north, south, east, west] = [nb[0], nb[1], nb[2], nb[3]].map(decode);
        let decrease = north.lat.1 < max_lat
            || south.lat.0 > min_lat
            || east.lon.1 < max_lon
            || west.lon.0 > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            (hash, nb, area) = at(steps);
        }
        // [north, south, east, west, north_east, north_west, south_east, south_west]
        let mut keep = [true; 8];
        if steps >= 2 {
            if area.lat.0 < min_lat {
                for i in [1, 7, 6] {
                    keep[i] = false;
                }
            }
            if area.lat.1 > max_lat {
                for i in [0, 4, 5] {
                    keep[i] = false;
                }
            }
            if area.lon.0 < min_lon {
                for i in [3, 7, 5] {
                    keep[i] = false;
                }
            }
            if area.lon.1 > max_lon {
                for i in [2, 6, 4] {
                    keep[i] = false;
                }
            }
        }
        let cells: Vec<Option<Hash>> = std::iter::once(Some(hash))
            .chain(nb.iter().zip(keep).map(|(h, k)| k.then_some(*h)))
            .collect();
        let mut out = Vec::new();
        let mut last: Option<usize> = None;
        for (i, cell) in cells.iter().enumerate() {
            let Some(h) = cell else { continue };
            // As Redis: the comparison skips when the previous scanned
            // cell is not the centre one (index 0).
            if let Some(l) = last.filter(|&l| l != 0)
                && cells[l] == Some(*h)
            {
                continue;
            }
            let min = align52(*h);
            let max = align52(Hash {
                bits: h.bits + 1,
                step: h.step,
            });
            out.push((min as f64, max as f64));
            last = Some(i);
        }
        out
    }
}

/// The geohash precision whose cells cover `range_m` around latitude `lat`.
fn estimate_steps(mut range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// Even bits: longitude; odd bits: latitude.
const X_BITS: u64 = 0xaaaaaaaaaaaaaaaa;
const Y_BITS: u64 = 0x5555555555555555;

/// The neighbouring cell one step (`d` > 0: up, else down) along the
/// coordinate whose bits are `axis`, as Redis's geohash_move_x / _y.
fn step(h: Hash, d: i8, axis: u64) -> Hash {
    let shift = 64 - u32::from(h.step) * 2;
    let mut v = h.bits & axis;
    let zz = !axis >> shift;
    if d > 0 {
        v = v.wrapping_add(zz + 1);
    } else {
        v |= zz;
        v = v.wrapping_sub(zz + 1);
    }
    v &= axis >> shift;
    Hash {
        bits: v | (h.bits & !axis),
        step: h.step,
    }
}

fn move_x(h: Hash, d: i8) -> Hash {
    step(h, d, X_BITS)
}

fn move_y(h: Hash, d: i8) -> Hash {
    step(h, d, Y_BITS)
}

/// [north, south, east, west, north_east, north_west, south_east, south_west].
fn neighbours(h: Hash) -> [Hash; 8] {
    [
        move_y(h, 1),
        move_y(h, -1),
        move_x(h, 1),
        move_x(h, -1),
        move_y(move_x(h, 1), 1),
        move_y(move_x(h, -1), 1),
        move_y(move_x(h, 1), -1),
        move_y(move_x(h, -1), -1),
    ]
}

/// A distance with four decimals, as Redis prints distances.
pub fn format_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let v = (d * 10000.0).round_ties_even() as i64;
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:04}", a / 10000, a % 10000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palermo_catania_as_redis() {
        // Values from Redis's GEOADD/GEOPOS/GEODIST/GEOHASH documentation.
        let p = score(13.361389, 38.115556).unwrap();
        let c = score(15.087269, 37.502669).unwrap();
        assert_eq!(p, 3479099956230698.0);
        assert_eq!(c, 3479447370796909.0);
        let (lon, lat) = point(p);
        assert!((lon - 13.361_389_338_970_184).abs() < 1e-12);
        assert!((lat - 38.115_556_395_496_3).abs() < 1e-12);
        let (l2, a2) = point(c);
        assert_eq!(format_distance(distance(lon, lat, l2, a2)), "166274.1516");
        assert_eq!(hash_string(p), "sqc8b49rny0");
        assert_eq!(hash_string(c), "sqdtr74hyu0");
    }

    #[test]
    fn limits_and_formatting() {
        assert!(score(180.1, 0.0).is_none());
        assert!(score(0.0, 85.06).is_none());
        assert!(score(-180.0, -85.05112878).is_some());
        assert_eq!(format_distance(0.00006), "0.0001");
        assert_eq!(format_distance(12.5), "12.5000");
        assert_eq!(format_distance(-1.25), "-1.2500");
        assert_eq!(interleave64(0xffff_ffff, 0) & 0xf, 0b0101);
        assert_eq!(
            deinterleave64(interleave64(12345, 67890)),
            12345 | (67890 << 32)
        );
    }

    #[test]
    fn ranges_cover_the_search_radius() {
        let s = Shape {
            lon: 15.0,
            lat: 37.0,
            extent: Extent::Radius(200.0),
            to_meters: 1000.0,
        };
        let ranges = s.score_ranges();
        assert!(!ranges.is_empty() && ranges.len() <= 9);
        for sc in [
            score(13.361389, 38.115556).unwrap(),
            score(15.087269, 37.502669).unwrap(),
        ] {
            assert!(ranges.iter().any(|&(lo, hi)| lo <= sc && sc < hi));
        }
    }
}
