//! Schema migrations: what to apply, applied once under the backend's lock.

use async_trait::async_trait;
use errand_core::{Error, Result};
use sqlx::{Database, Transaction};

/// One schema migration of a SQL store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number; migrations apply in ascending order.
    pub version: i64,
    /// A short name, recorded with the version.
    pub name: &'static str,
    /// Its SQL (for PostgreSQL a template in which `{schema}` stands for the
    /// store's schema).
    pub sql: &'static str,
}

/// The migrations `applied` lacks, in order; an error when the database holds
/// a version newer than any of `all` (an older errand must not touch a schema
/// it does not know). `place` names the database or schema in that error.
///
/// ```
/// use errand_sql::{Migration, migrate::pending};
/// const ALL: &[Migration] = &[
///     Migration { version: 1, name: "jobs", sql: "" },
///     Migration { version: 2, name: "index", sql: "" },
/// ];
/// let todo = pending(ALL, &[1], "the database").unwrap();
/// assert_eq!(todo, vec![&ALL[1]]);
/// assert!(pending(ALL, &[1, 2, 3], "the database").is_err());
/// ```
pub fn pending<'m>(
    all: &'m [Migration],
    applied: &[i64],
    place: &str,
) -> Result<Vec<&'m Migration>> {
    let known = all.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(newest) = applied.iter().copied().max()
        && newest > known
    {
        return Err(Error::conflict(format!(
            "{place} is at schema version {newest}, newer than this errand knows ({known}): upgrade errand"
        )));
    }
    Ok(all
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect())
}

/// How one SQL store applies its migrations; [`Migrator::run`] does the rest.
#[async_trait]
pub trait Migrator: Sync {
    /// The database.
    type Db: Database;

    /// Every migration of the store, in order.
    fn migrations(&self) -> &'static [Migration];

    /// The database or schema, as an error message names it.
    fn place(&self) -> String;

    /// Begins the transaction the migrations run in, holding the lock that
    /// keeps two processes from migrating at once, with the table of applied
    /// versions created.
    async fn begin(&self) -> Result<Transaction<'static, Self::Db>>;

    /// The versions applied so far.
    async fn applied(&self, conn: &mut <Self::Db as Database>::Connection) -> Result<Vec<i64>>;

    /// Applies one migration and records its version.
    async fn apply(
        &self,
        conn: &mut <Self::Db as Database>::Connection,
        migration: &Migration,
    ) -> Result<()>;

    /// Translates an error of this database.
    fn error(e: sqlx::Error) -> Error;

    /// Applies the missing migrations in one transaction: all or none.
    async fn run(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        let applied = self.applied(&mut tx).await?;
        let place = self.place();
        for migration in pending(self.migrations(), &applied, &place)? {
            self.apply(&mut tx, migration).await?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                place,
                "applied errand migration"
            );
        }
        tx.commit().await.map_err(Self::error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Migration] = &[
        Migration {
            version: 1,
            name: "a",
            sql: "",
        },
        Migration {
            version: 2,
            name: "b",
            sql: "",
        },
        Migration {
            version: 3,
            name: "c",
            sql: "",
        },
    ];

    #[test]
    fn a_new_database_gets_every_migration_in_order() {
        let versions: Vec<i64> = pending(ALL, &[], "x")
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(versions, vec![1, 2, 3]);
    }

    #[test]
    fn an_up_to_date_database_gets_none() {
        assert!(pending(ALL, &[1, 2, 3], "x").unwrap().is_empty());
    }

    #[test]
    fn a_gap_is_filled() {
        let versions: Vec<i64> = pending(ALL, &[1, 3], "x")
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(versions, vec![2]);
    }

    #[test]
    fn a_newer_schema_is_a_conflict_naming_place_and_versions() {
        let err = pending(ALL, &[1, 2, 3, 4], "schema \"jobs\"").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
        assert!(
            text.contains("schema \"jobs\"") && text.contains('4') && text.contains('3'),
            "{text}"
        );
    }
}
