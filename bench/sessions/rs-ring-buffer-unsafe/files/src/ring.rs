//! A fixed-capacity single-producer single-consumer ring buffer for the audio thread.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct Ring<T> {
    buf: Box<[UnsafeCell<MaybeUninit<T>>]>,
    head: AtomicUsize, // next slot to read
    tail: AtomicUsize, // next slot to write
}

unsafe impl<T> Send for Ring<T> {}
unsafe impl<T> Sync for Ring<T> {}

pub struct Producer<T> {
    ring: Arc<Ring<T>>,
}

pub struct Consumer<T> {
    ring: Arc<Ring<T>>,
}

pub fn channel<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    assert!(capacity.is_power_of_two(), "capacity must be a power of two");
    let buf = (0..capacity).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect();
    let ring = Arc::new(Ring { buf, head: AtomicUsize::new(0), tail: AtomicUsize::new(0) });
    (Producer { ring: ring.clone() }, Consumer { ring })
}

impl<T> Ring<T> {
    fn mask(&self, i: usize) -> usize {
        i & (self.buf.len() - 1)
    }
}

impl<T> Producer<T> {
    pub fn push(&self, value: T) -> Result<(), T> {
        let r = &*self.ring;
        let tail = r.tail.load(Ordering::Relaxed);
        let head = r.head.load(Ordering::Relaxed);
        if tail.wrapping_sub(head) == r.buf.len() {
            return Err(value);
        }
        unsafe { (*r.buf[r.mask(tail)].get()).write(value) };
        r.tail.store(tail.wrapping_add(1), Ordering::Relaxed);
        Ok(())
    }
}

impl<T> Consumer<T> {
    pub fn pop(&self) -> Option<T> {
        let r = &*self.ring;
        let head = r.head.load(Ordering::Relaxed);
        let tail = r.tail.load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        let value = unsafe { (*r.buf[r.mask(head)].get()).assume_init_read() };
        r.head.store(head.wrapping_add(1), Ordering::Release);
        Some(value)
    }

    pub fn clear(&self) {
        let r = &*self.ring;
        r.head.store(r.tail.load(Ordering::Acquire), Ordering::Release);
    }

    pub fn len(&self) -> usize {
        let r = &*self.ring;
        r.tail.load(Ordering::Acquire).wrapping_sub(r.head.load(Ordering::Acquire))
    }
}
