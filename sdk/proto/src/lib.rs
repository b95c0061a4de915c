//! # corral-proto
//!
//! corral's wire protocol: the code generated from the `.proto` files (the
//! Mesos v1 scheduler API, message for message, in [`pb`], with the gRPC
//! client and server stubs), and the checked conversions between it and
//! the plain types of `corral-types`, in [`convert`].
//!
//! Transports and masters depend on this crate; framework code does not.
//! Every number and duration read from the wire is checked (and capped
//! where a cap makes sense) so a hostile or buggy peer cannot make the
//! reader panic, and events are decoded item by item.
//!
//! ```
//! use corral_proto::convert::*;
//! use corral_types::Resources;
//!
//! let wire = Resources::new().with_cpus(1.5).to_pb();
//! assert_eq!(Resources::from_pb(&wire).unwrap().cpus(), 1.5);
//! ```

#![warn(missing_docs)]

pub mod convert;
pub mod pb;
