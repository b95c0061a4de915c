//! spark-like: the batch reference framework of corral, in the style of
//! Spark on Mesos. A job is a DAG of stages ([`dag`]) whose state is kept
//! by the [`engine`]; the [`backend`] runs its tasks on offers in fine or
//! coarse mode, configured with Spark's own property names ([`conf`]).
//! On local agents tasks run in `executor` processes of this binary
//! ([`executor`], speaking [`wire`] to the driver's [`hub`]); [`run`] puts
//! it together on the embedded master or a remote one, and [`compare`]
//! measures fine against coarse mode.

pub mod backend;
pub mod compare;
pub mod conf;
pub mod dag;
pub mod engine;
pub mod executor;
pub mod hub;
pub mod progress;
pub mod report;
pub mod run;
pub mod wire;
pub mod work;
