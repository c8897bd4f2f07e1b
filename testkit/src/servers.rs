//! Private MariaDB and Redis servers for tests (STUB: being written).
