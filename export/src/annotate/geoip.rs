//! `--geoip FILE.mmdb` (repeatable): where a non-local address is, and its
//! AS, from MaxMind DB files (GeoIP2/GeoLite2 City or Country, and ASN, or
//! any database of the same layout) read with the `maxminddb` crate
//! (docs/annotate.md, "GeoIP and ASN").
//!
//! Each file is read whole into memory at start (no mmap: no unsafe code).
//! A lookup decodes only the fields a record carries, borrowing their text
//! from the database; it never panics.

use std::{net::IpAddr, path::Path};

use maxminddb::Reader;
use serde::Deserialize;

use crate::Error;

/// `src_location` / `dest_location`: where an address is, in GCP's
/// sub-fields (docs/annotate.md says how each is taken from the database).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Location<'a> {
    /// `continent`: the continent's English name.
    pub continent: Option<&'a str>,
    /// `country`: the ISO 3166-1 alpha-2 code.
    pub country: Option<&'a str>,
    /// `region`: the first subdivision's English name (state, province).
    pub region: Option<&'a str>,
    /// `city`: the city's English name.
    pub city: Option<&'a str>,
    /// `asn`: the autonomous system number.
    pub asn: Option<u32>,
}

impl Location<'_> {
    fn is_empty(&self) -> bool {
        *self == Location::default()
    }
}

/// What a lookup decodes of a record: the GeoIP2 City/Country fields and
/// the ASN database's number, whichever the database holds.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    continent: Option<Named<'a>>,
    #[serde(borrow)]
    country: Option<Country<'a>>,
    #[serde(borrow)]
    subdivisions: Option<Vec<Named<'a>>>,
    #[serde(borrow)]
    city: Option<Named<'a>>,
    autonomous_system_number: Option<u32>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct Names<'a> {
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct Country<'a> {
    iso_code: Option<&'a str>,
}

impl<'a> Named<'a> {
    fn english(&self) -> Option<&'a str> {
        self.names.as_ref()?.en
    }
}

/// The databases of the run, in the order given.
#[derive(Debug, Default)]
pub struct GeoIp {
    readers: Vec<Reader<Vec<u8>>>,
}

impl GeoIp {
    /// Opens each database; a file that is missing or not a MaxMind DB fails
    /// here, naming it, before any packet is read.
    pub fn open(paths: &[impl AsRef<Path>]) -> Result<Self, Error> {
        let readers = paths
            .iter()
            .map(|path| {
                Reader::open_readfile(path).map_err(|source| Error::GeoIp {
                    path: path.as_ref().to_owned(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(GeoIp { readers })
    }

    /// Whether no database was given.
    pub fn is_empty(&self) -> bool {
        self.readers.is_empty()
    }

    /// Where `addr` is: each field from the first database that has it.
    /// `None` when no database knows the address. A record that does not
    /// decode is taken as unknown: one bad entry should not stop a run
    /// whose counts are right.
    pub fn lookup(&self, addr: IpAddr) -> Option<Location<'_>> {
        let addr = addr.to_canonical();
        let mut found = Location::default();
        for reader in &self.readers {
            let Some(r) = reader
                .lookup(addr)
                .and_then(|result| result.decode::<Record>())
                .ok()
                .flatten()
            else {
                continue;
            };
            let region = r.subdivisions.as_ref().and_then(|s| s.first());
            found.continent = found.continent.or(r.continent.and_then(|c| c.english()));
            found.country = found.country.or(r.country.and_then(|c| c.iso_code));
            found.region = found.region.or(region.and_then(Named::english));
            found.city = found.city.or(r.city.and_then(|c| c.english()));
            found.asn = found.asn.or(r.autonomous_system_number);
        }
        (!found.is_empty()).then_some(found)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The folder where tests/fixtures/make_mmdb.py wrote city.mmdb and
    /// asn.mmdb for `test`. The tests that call this are ignored by a plain
    /// `cargo test` (they need python3's mmdb-writer); scripts/test.sh runs
    /// them after scripts/deps.sh installed it.
    pub(crate) fn databases(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mirrorflow-mmdb-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/make_mmdb.py");
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "{} failed (pip install mmdb-writer, as scripts/deps.sh test does): {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    }

    fn both(test: &str) -> GeoIp {
        let dir = databases(test);
        GeoIp::open(&[dir.join("city.mmdb"), dir.join("asn.mmdb")]).unwrap()
    }

    #[test]
    #[ignore = "needs python3's mmdb-writer: scripts/test.sh runs it"]
    fn a_hit_fills_every_field_from_city_and_asn_databases() {
        let geo = both("hit");
        let sydney = Location {
            continent: Some("Oceania"),
            country: Some("AU"),
            region: Some("New South Wales"),
            city: Some("Sydney"),
            asn: Some(64500),
        };
        assert_eq!(geo.lookup("203.0.113.9".parse().unwrap()), Some(sydney));
        // IPv4-mapped: the IPv4 address it carries.
        assert_eq!(
            geo.lookup("::ffff:203.0.113.9".parse().unwrap()),
            Some(sydney)
        );
        let amsterdam = geo.lookup("2001:db8:beef::1".parse().unwrap()).unwrap();
        assert_eq!(
            (amsterdam.city, amsterdam.asn),
            (Some("Amsterdam"), Some(64501))
        );
    }

    #[test]
    #[ignore = "needs python3's mmdb-writer: scripts/test.sh runs it"]
    fn a_miss_is_none_and_one_database_gives_its_fields_only() {
        let geo = both("miss");
        assert_eq!(geo.lookup("198.51.100.1".parse().unwrap()), None);
        assert_eq!(geo.lookup("2001:db8:1::1".parse().unwrap()), None);
        let dir = databases("asn-only");
        let asn = GeoIp::open(&[dir.join("asn.mmdb")]).unwrap();
        let only = asn.lookup("203.0.113.9".parse().unwrap()).unwrap();
        assert_eq!(
            only,
            Location {
                asn: Some(64500),
                ..Location::default()
            }
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_names_its_path() {
        let path =
            std::env::temp_dir().join(format!("mirrorflow-mmdb-{}-bad.mmdb", std::process::id()));
        std::fs::write(&path, b"not a MaxMind DB").unwrap();
        let err = GeoIp::open(&[&path]).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains(path.to_str().unwrap()), "{err}");
        let err = GeoIp::open(&["/nonexistent/x.mmdb"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/x.mmdb"), "{err}");
    }
}
