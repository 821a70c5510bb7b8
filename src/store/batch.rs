//! Loaded rows handed to SQLite a batch at a time.
//!
//! One `INSERT … SELECT … FROM attempt_batch(?1)` per batch of parsed rows
//! instead of one prepared `INSERT` per row: a statement run per row pays
//! its setup (binding every field, opening the table, seeking from the
//! root) every time, which was about half of the load. The batch is passed
//! as a pointer (SQLite's pointer-passing interface, as in `carray`) to an
//! eponymous virtual table that reads the rows where they lie, so nothing is
//! copied to get them into SQL.

use rusqlite::ffi;
use rusqlite::types::{ToSql, ToSqlOutput, Value};
use rusqlite::vtab::{
    Context, Filters, IndexConstraintOp, IndexInfo, Module, VTab, VTabConnection, VTabCursor,
};
use rusqlite::{Connection, Result};
use std::borrow::Cow;
use std::ffi::{CStr, c_int};
use std::rc::Rc;

/// Rows of one batch, column by column as a table's schema declares them.
pub trait Rows: 'static {
    /// How many rows the batch has.
    fn count(&self) -> usize;
    /// Sets `ctx` to the value of `column` in `row` (both in range).
    fn column(&self, row: usize, column: c_int, ctx: &mut Context) -> Result<()>;
}

/// Shared rows are rows: the loader keeps a handle to a batch it binds.
impl<R: Rows> Rows for Rc<R> {
    fn count(&self) -> usize {
        (**self).count()
    }
    fn column(&self, row: usize, column: c_int, ctx: &mut Context) -> Result<()> {
        (**self).column(row, column, ctx)
    }
}

/// One batch, bound as a statement parameter.
pub struct Batch(Rc<Box<dyn Rows>>);

impl Batch {
    pub fn new(rows: impl Rows) -> Batch {
        Batch(Rc::new(Box::new(rows)))
    }
}

/// The rows of a batch whose statement is done with it (its bindings
/// cleared); a batch still bound somewhere comes back empty.
pub fn take_back<R: Rows + Default>(rows: Rc<R>) -> R {
    Rc::try_unwrap(rows).unwrap_or_default()
}

/// The pointer type SQLite checks: only a `Batch` reads as one.
const POINTER_TYPE: &CStr = c"payrecon_batch";

impl ToSql for Batch {
    fn to_sql(&self) -> Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from_rc(self.0.clone(), POINTER_TYPE))
    }
}

/// A batch table's columns: the declared schema, whose last column is the
/// hidden one the batch is passed in.
pub struct Shape {
    pub schema: &'static CStr,
    pub columns: c_int,
}

/// Registers a batch table named `name` on `conn`.
pub fn register(conn: &Connection, name: &'static CStr, shape: Shape) -> Result<()> {
    const MODULE: Module<BatchTable> = Module::eponymous_only_module();
    conn.create_module(name, &MODULE, Some(shape))
}

#[repr(C)]
struct BatchTable {
    /// SQLite's part; must come first.
    base: ffi::sqlite3_vtab,
    batch_column: c_int,
}

unsafe impl<'vtab> VTab<'vtab> for BatchTable {
    type Aux = Shape;
    type Cursor = BatchCursor<'vtab>;

    fn connect(
        _: &mut VTabConnection,
        shape: Option<&Shape>,
        _module_name: &[u8],
        _database_name: &[u8],
        _table_name: &[u8],
        _args: &[&[u8]],
    ) -> Result<(Cow<'static, CStr>, Self)> {
        let shape = shape.ok_or_else(|| rusqlite::Error::ModuleError("no batch shape".into()))?;
        let table = BatchTable {
            base: ffi::sqlite3_vtab::default(),
            batch_column: shape.columns,
        };
        Ok((Cow::Borrowed(shape.schema), table))
    }

    /// Usable only with the batch given (`FROM attempt_batch(?1)`).
    fn best_index(&self, info: &mut IndexInfo) -> Result<bool> {
        let mut given = false;
        for (constraint, mut usage) in info.constraints_and_usages() {
            if constraint.is_usable()
                && constraint.column() == self.batch_column
                && constraint.operator() == IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_EQ
            {
                usage.set_argv_index(1);
                usage.set_omit(true);
                given = true;
            }
        }
        info.set_idx_num(given.into());
        info.set_estimated_cost(if given { 1.0 } else { f64::MAX });
        Ok(true)
    }

    fn open(&'vtab mut self) -> Result<BatchCursor<'vtab>> {
        Ok(BatchCursor {
            base: ffi::sqlite3_vtab_cursor::default(),
            rows: None,
            row: 0,
            batch_column: self.batch_column,
        })
    }
}

#[repr(C)]
struct BatchCursor<'vtab> {
    /// SQLite's part; must come first.
    base: ffi::sqlite3_vtab_cursor,
    rows: Option<&'vtab dyn Rows>,
    row: usize,
    batch_column: c_int,
}

unsafe impl VTabCursor for BatchCursor<'_> {
    fn filter(&mut self, given: c_int, _: Option<&str>, args: &Filters<'_>) -> Result<()> {
        // SAFETY: the pointer was bound as a `Batch` (SQLite returns it only
        // for that pointer type) and stays bound while the statement runs.
        // A pointer reads as NULL; any other value is not a batch.
        let pointer = given > 0 && matches!(args.get::<Value>(0)?, Value::Null);
        self.rows = if pointer {
            unsafe { args.get_pointer::<Box<dyn Rows>>(0, POINTER_TYPE) }.map(|rows| &**rows)
        } else {
            None
        };
        self.row = 0;
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        self.row += 1;
        Ok(())
    }

    fn eof(&self) -> bool {
        self.rows.is_none_or(|rows| self.row >= rows.count())
    }

    fn column(&self, ctx: &mut Context, column: c_int) -> Result<()> {
        match self.rows {
            Some(rows) if column != self.batch_column => rows.column(self.row, column, ctx),
            _ => Ok(()),
        }
    }

    fn rowid(&self) -> Result<i64> {
        Ok(self.row as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pairs(Vec<(String, i64)>);

    impl Rows for Pairs {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn column(&self, row: usize, column: c_int, ctx: &mut Context) -> Result<()> {
            let (name, n) = &self.0[row];
            match column {
                0 => ctx.set_result(name),
                _ => ctx.set_result(n),
            }
        }
    }

    fn connection() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        register(
            &conn,
            c"pairs",
            Shape {
                schema: c"CREATE TABLE x(name, n, batch HIDDEN)",
                columns: 2,
            },
        )
        .unwrap();
        conn
    }

    #[test]
    fn a_batch_reads_as_its_rows_in_order() {
        let conn = connection();
        let rows: Vec<(String, i64)> = (0..5000).map(|i| (format!("r{i}"), i * 7)).collect();
        let mut stmt = conn
            .prepare("SELECT name, n FROM pairs(?1) WHERE n % 2 = 0")
            .unwrap();
        let got: Vec<(String, i64)> = stmt
            .query_map([Batch::new(Pairs(rows.clone()))], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        let expected: Vec<(String, i64)> = rows.into_iter().filter(|(_, n)| n % 2 == 0).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn an_empty_batch_and_a_missing_one_have_no_rows() {
        let conn = connection();
        let count = |sql: &str, batch: Option<Batch>| -> i64 {
            match batch {
                Some(b) => conn.query_row(sql, [b], |r| r.get(0)).unwrap(),
                None => conn.query_row(sql, [], |r| r.get(0)).unwrap(),
            }
        };
        assert_eq!(
            count(
                "SELECT count(*) FROM pairs(?1)",
                Some(Batch::new(Pairs(Vec::new())))
            ),
            0
        );
        assert_eq!(count("SELECT count(*) FROM pairs", None), 0);
        // A value that is not a batch pointer reads as no batch.
        let n: i64 = conn
            .query_row("SELECT count(*) FROM pairs('x')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
