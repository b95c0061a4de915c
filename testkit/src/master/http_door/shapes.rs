//! The offer shape of each open Mesos event stream (see
//! [`OfferShape`]): set from SUBSCRIBE's capabilities, changed when an
//! UPDATE_FRAMEWORK on that stream succeeds (Mesos rewrites each offer for
//! the framework's capabilities at the time it sends it), forgotten when
//! the stream ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use corral_mesos::convert::OfferShape;

/// One stream's current shape.
#[derive(Clone, Debug)]
pub(super) struct Shape(Arc<Mutex<OfferShape>>);

impl Shape {
    /// The shape now.
    pub(super) fn get(&self) -> OfferShape {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every open stream's shape, by stream id.
#[derive(Clone, Debug, Default)]
pub(super) struct Shapes(Arc<Mutex<HashMap<String, Shape>>>);

/// Forgets its stream's shape when dropped (with the stream).
pub(super) struct Registered {
    shapes: Shapes,
    stream: String,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.shapes.map().remove(&self.stream);
    }
}

impl Shapes {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Shape>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the stream `stream` with `shape`; the shape is forgotten
    /// when the returned guard drops.
    pub(super) fn open(&self, stream: &str, shape: OfferShape) -> (Shape, Registered) {
        let cell = Shape(Arc::new(Mutex::new(shape)));
        self.map().insert(stream.to_owned(), cell.clone());
        let guard = Registered {
            shapes: self.clone(),
            stream: stream.to_owned(),
        };
        (cell, guard)
    }

    /// The framework on `stream` now has `shape` (an unknown stream, say
    /// one of the gRPC door, is left alone).
    pub(super) fn update(&self, stream: &str, shape: OfferShape) {
        if let Some(cell) = self.map().get(stream) {
            *cell.0.lock().unwrap_or_else(PoisonError::into_inner) = shape;
        }
    }

    /// How many streams are registered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_follows_updates_and_is_forgotten_with_its_stream() {
        let shapes = Shapes::default();
        let multi = OfferShape {
            multi_role: true,
            reservation_refinement: false,
        };
        let (shape, guard) = shapes.open("s1", OfferShape::default());
        assert_eq!(shape.get(), OfferShape::default());
        shapes.update("s1", multi);
        shapes.update("unknown", OfferShape::default());
        assert_eq!(shape.get(), multi);
        assert_eq!(shapes.len(), 1);
        drop(guard);
        assert_eq!(shapes.len(), 0);
        shapes.update("s1", OfferShape::default());
        assert_eq!(shape.get(), multi, "a closed stream is not updated");
    }
}
