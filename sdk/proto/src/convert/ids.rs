//! Ids and their wire messages.

use corral_types::{AgentId, ExecutorId, FrameworkId, OfferId, TaskId};

use crate::pb;

/// The wire form of an id.
pub trait IdPb {
    /// The wire message.
    type Wire;
    /// The id in its wire form.
    fn to_pb(&self) -> Self::Wire;
}

macro_rules! id_pb {
    ($($name:ident),*) => {$(
        #[doc(hidden)]
        impl IdPb for $name {
            type Wire = pb::$name;
            fn to_pb(&self) -> pb::$name {
                pb::$name { value: self.as_str().to_owned() }
            }
        }

        #[doc(hidden)]
        impl From<pb::$name> for $name {
            fn from(value: pb::$name) -> Self {
                $name::new(value.value)
            }
        }

        #[doc(hidden)]
        impl From<&pb::$name> for $name {
            fn from(value: &pb::$name) -> Self {
                $name::new(value.value.clone())
            }
        }

        impl From<&$name> for pb::$name {
            fn from(value: &$name) -> Self {
                value.to_pb()
            }
        }
    )*};
}

id_pb!(FrameworkId, OfferId, AgentId, TaskId, ExecutorId);
