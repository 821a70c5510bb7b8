//! Secondary indexes set aside while a large load goes in.
//!
//! Keeping an index up to date costs one B-tree descent per row; building
//! it afterwards is one sort (SQLite's external merge sort, on worker
//! threads). When the files about to be loaded are larger than everything
//! already stored, the sort is cheaper, so the indexes of the loaded tables
//! are dropped before the load and created again, from their own stored
//! definitions, right after it. Both happen inside the run's transaction: a
//! run that fails or is killed leaves the indexes as they were.

use anyhow::{Context, Result};
use rusqlite::Connection;

/// The tables a load writes to.
const LOADED_TABLES: &str = "'attempt', 'settlement_row'";

/// Indexes dropped for a load, with the SQL that creates them again.
#[must_use = "the indexes must be restored before the transaction commits"]
pub struct SetAside {
    indexes: Vec<(String, String)>,
}

impl SetAside {
    /// Drops the loaded tables' secondary indexes when `incoming_bytes`
    /// (the size of the files not loaded yet) exceeds the database's size;
    /// otherwise sets nothing aside.
    pub fn for_load(conn: &Connection, incoming_bytes: u64) -> Result<SetAside> {
        let stored_bytes: i64 = conn.query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )?;
        if incoming_bytes <= stored_bytes.max(0) as u64 {
            return Ok(SetAside {
                indexes: Vec::new(),
            });
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT name, sql FROM sqlite_schema
             WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({LOADED_TABLES})
             ORDER BY name"
        ))?;
        let indexes = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
        for (name, _) in &indexes {
            conn.execute_batch(&format!("DROP INDEX \"{name}\""))
                .with_context(|| format!("setting index {name} aside for the load"))?;
        }
        Ok(SetAside { indexes })
    }

    /// Creates the set-aside indexes again; says whether there were any.
    /// With `first_judgement` (nothing was judged in this database before),
    /// the indexes only an incremental judgement reads stay aside
    /// (`schema::FOLLOW_INDEXES`): the next run builds them.
    pub fn restore(self, conn: &Connection, first_judgement: bool) -> Result<bool> {
        let follows = |name: &str| {
            super::schema::FOLLOW_INDEXES
                .iter()
                .any(|(follow, _)| *follow == name)
        };
        for (name, sql) in &self.indexes {
            if first_judgement && follows(name) {
                continue;
            }
            conn.execute_batch(sql)
                .with_context(|| format!("rebuilding index {name} after the load"))?;
        }
        Ok(!self.indexes.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn index_sql(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// A load larger than the database drops the loaded tables' indexes
    /// (and only those), and restoring brings back the same definitions.
    #[test]
    fn a_large_load_sets_indexes_aside_and_restores_them() {
        let conn = database();
        let before = index_sql(&conn);
        let aside = SetAside::for_load(&conn, u64::MAX).unwrap();
        let during = index_sql(&conn);
        assert!(
            during
                .iter()
                .all(|(name, _)| !name.starts_with("attempt_")
                    && !name.starts_with("settlement_row_"))
        );
        assert!(
            during
                .iter()
                .any(|(name, _)| name == "refund_instruction_by_txn")
        );
        assert_eq!(aside.indexes.len(), before.len() - during.len());
        assert!(
            aside
                .indexes
                .iter()
                .any(|(name, _)| name == "attempt_undecided"),
            "{:?}",
            aside.indexes
        );
        assert!(aside.restore(&conn, false).unwrap());
        assert_eq!(index_sql(&conn), before);
    }

    /// A database's first judgement leaves aside the indexes only an
    /// incremental judgement reads; the next run builds them, as they were.
    #[test]
    fn a_first_judgement_leaves_the_follow_indexes_to_the_next_run() {
        let conn = database();
        let before = index_sql(&conn);
        let follow: Vec<&str> = crate::store::schema::FOLLOW_INDEXES
            .iter()
            .map(|(name, _)| *name)
            .collect();
        let aside = SetAside::for_load(&conn, u64::MAX).unwrap();
        assert!(aside.restore(&conn, true).unwrap());
        let after = index_sql(&conn);
        let missing: Vec<&str> = before
            .iter()
            .filter(|index| !after.contains(index))
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(missing, follow);
        assert!(crate::store::schema::ensure_follow_indexes(&conn).unwrap());
        assert_eq!(index_sql(&conn), before);
        assert!(!crate::store::schema::ensure_follow_indexes(&conn).unwrap());
    }

    /// A load smaller than what is stored keeps every index.
    #[test]
    fn a_small_load_keeps_the_indexes() {
        let conn = database();
        let before = index_sql(&conn);
        let aside = SetAside::for_load(&conn, 1).unwrap();
        assert!(aside.indexes.is_empty());
        assert_eq!(index_sql(&conn), before);
    }
}
