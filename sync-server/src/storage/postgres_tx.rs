//! Connections that keep their prepared statements, and the transaction type every
//! PostgreSQL query of the backend goes through.
//!
//! **Why.** `postgres`'s `execute("…")` prepares the statement on every call: one round trip
//! to parse and describe it, another to run it. A pushed case ran about twenty statements
//! (the document, the feed position, the projections, the back-office rows), so half of its
//! time went to preparing the same SQL again (measured: a 10,000-case push took 6.3 × SQLite's
//! time before, see `docs/scaling.md`; a push now writes its documents a table at a time,
//! `postgres_doc_writes.rs`). Each pooled connection now keeps the statements it
//! prepared, by their SQL text, and [`Tx`] offers the client's methods on SQL text, so the
//! backend's code reads as before.

use std::collections::HashMap;

use postgres::types::BorrowToSql;
use postgres::{IsolationLevel, NoTls, Portal, Row, RowIter, Statement, Transaction};
use r2d2::ManageConnection;
use r2d2_postgres::PostgresConnectionManager;

use super::Param;

/// Most statements one connection keeps. The backend's SQL is a bounded set of texts, but a
/// list filter with a variable number of terms makes new ones; past the bound the cache
/// starts over rather than grow.
const MAX_STATEMENTS: usize = 512;

/// The pool's connection manager: a client and its statements.
#[derive(Debug)]
pub(crate) struct Manager(pub(crate) PostgresConnectionManager<NoTls>);

/// A pooled connection.
pub(crate) struct Conn {
    client: postgres::Client,
    statements: HashMap<String, Statement>,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.0.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

impl Conn {
    /// Begins a transaction (`None`: the server's default isolation, READ COMMITTED).
    pub(crate) fn begin(
        &mut self,
        isolation: Option<IsolationLevel>,
        read_only: bool,
    ) -> Result<Tx<'_>, postgres::Error> {
        let mut builder = self.client.build_transaction().read_only(read_only);
        if let Some(level) = isolation {
            builder = builder.isolation_level(level);
        }
        Ok(Tx {
            inner: builder.start()?,
            statements: &mut self.statements,
        })
    }
}

/// What a query names: SQL text (prepared once per connection) or a prepared statement.
pub(crate) trait Query {
    /// The prepared statement.
    fn statement(&self, tx: &mut Tx<'_>) -> Result<Statement, postgres::Error>;
}

impl Query for str {
    fn statement(&self, tx: &mut Tx<'_>) -> Result<Statement, postgres::Error> {
        if let Some(statement) = tx.statements.get(self) {
            return Ok(statement.clone());
        }
        let statement = tx.inner.prepare(self)?;
        if tx.statements.len() >= MAX_STATEMENTS {
            tx.statements.clear();
        }
        tx.statements.insert(self.to_owned(), statement.clone());
        Ok(statement)
    }
}

impl Query for String {
    fn statement(&self, tx: &mut Tx<'_>) -> Result<Statement, postgres::Error> {
        self.as_str().statement(tx)
    }
}

impl Query for Statement {
    fn statement(&self, _tx: &mut Tx<'_>) -> Result<Statement, postgres::Error> {
        Ok(self.clone())
    }
}

/// A transaction of the backend: `postgres::Transaction`'s methods, with statements
/// prepared once per connection.
pub(crate) struct Tx<'a> {
    inner: Transaction<'a>,
    statements: &'a mut HashMap<String, Statement>,
}

impl Tx<'_> {
    /// The prepared statement of `sql`.
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        sql.statement(self)
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) fn execute<Q: Query + ?Sized>(
        &mut self,
        query: &Q,
        params: &[Param<'_>],
    ) -> Result<u64, postgres::Error> {
        let statement = query.statement(self)?;
        self.inner.execute(&statement, params)
    }

    /// Runs a query; its rows.
    pub(crate) fn query<Q: Query + ?Sized>(
        &mut self,
        query: &Q,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = query.statement(self)?;
        self.inner.query(&statement, params)
    }

    /// Runs a query of at most one row.
    pub(crate) fn query_opt<Q: Query + ?Sized>(
        &mut self,
        query: &Q,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = query.statement(self)?;
        self.inner.query_opt(&statement, params)
    }

    /// Runs a query of exactly one row.
    pub(crate) fn query_one<Q: Query + ?Sized>(
        &mut self,
        query: &Q,
        params: &[Param<'_>],
    ) -> Result<Row, postgres::Error> {
        let statement = query.statement(self)?;
        self.inner.query_one(&statement, params)
    }

    /// Runs a query whose rows are read one at a time.
    pub(crate) fn query_raw<Q, P, I>(
        &mut self,
        query: &Q,
        params: I,
    ) -> Result<RowIter<'_>, postgres::Error>
    where
        Q: Query + ?Sized,
        P: BorrowToSql,
        I: IntoIterator<Item = P>,
        I::IntoIter: ExactSizeIterator,
    {
        let statement = query.statement(self)?;
        self.inner.query_raw(&statement, params)
    }

    /// Binds a query to a portal, whose rows [`Tx::query_portal`] reads a few at a time.
    pub(crate) fn bind<Q: Query + ?Sized>(
        &mut self,
        query: &Q,
        params: &[Param<'_>],
    ) -> Result<Portal, postgres::Error> {
        let statement = query.statement(self)?;
        self.inner.bind(&statement, params)
    }

    /// The next `max_rows` rows of a portal.
    pub(crate) fn query_portal(
        &mut self,
        portal: &Portal,
        max_rows: i32,
    ) -> Result<Vec<Row>, postgres::Error> {
        self.inner.query_portal(portal, max_rows)
    }

    /// Runs several statements of SQL text, unprepared (migrations).
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.inner.batch_execute(sql)
    }

    /// Commits.
    pub(crate) fn commit(self) -> Result<(), postgres::Error> {
        self.inner.commit()
    }
}
