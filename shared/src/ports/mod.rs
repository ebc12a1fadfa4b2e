//! Ports: the narrow traits the domain needs from the outside world. Each has an AWS adapter and
//! an embedded adapter in `crate::adapters`, and one contract suite run against both.

pub mod blobs;
pub mod clock;
pub mod queue;
pub mod renderer;
pub mod table;

pub use blobs::{BlobError, BlobKey, Blobs};
pub use clock::{Clock, FixedClock, SystemClock};
pub use queue::{Queue, QueueError, QueueName};
pub use renderer::Renderer;
pub use table::{Condition, Index, Item, Key, Page, Query, SortKey, Table, TableError, Write};
