//! An arena-backed doubly linked list with stable handles.
//!
//! Nodes live in a `Vec`; removed slots go on a free list and are reused
//! (most recently freed first). A handle stays valid until its node is
//! removed.

const NIL: usize = usize::MAX;

#[derive(Debug, Clone)]
struct Node<T> {
    value: Option<T>,
    prev: usize,
    next: usize,
}

/// Doubly linked list ordered from front to back.
#[derive(Debug, Clone)]
pub struct OrderList<T> {
    nodes: Vec<Node<T>>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    len: usize,
}

impl<T> Default for OrderList<T> {
    fn default() -> Self {
        OrderList::new()
    }
}

impl<T> OrderList<T> {
    pub fn new() -> Self {
        OrderList {
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slots allocated, live or free.
    pub fn slots(&self) -> usize {
        self.nodes.len()
    }

    fn is_live(&self, idx: usize) -> bool {
        idx < self.nodes.len() && self.nodes[idx].value.is_some()
    }

    fn alloc(&mut self, value: T) -> usize {
        let node = Node {
            value: Some(value),
            prev: NIL,
            next: NIL,
        };
        match self.free.pop() {
            Some(idx) => {
                self.nodes[idx] = node;
                idx
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        }
    }

    fn link_front(&mut self, idx: usize) {
        self.nodes[idx].prev = NIL;
        self.nodes[idx].next = self.head;
        if self.head != NIL {
            self.nodes[self.head].prev = idx;
        } else {
            self.tail = idx;
        }
        self.head = idx;
    }

    fn link_back(&mut self, idx: usize) {
        self.nodes[idx].next = NIL;
        self.nodes[idx].prev = self.tail;
        if self.tail != NIL {
            self.nodes[self.tail].next = idx;
        } else {
            self.head = idx;
        }
        self.tail = idx;
    }

    fn unlink(&mut self, idx: usize) {
        let Node { prev, next, .. } = self.nodes[idx];
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
        self.nodes[idx].prev = NIL;
        self.nodes[idx].next = NIL;
    }

    /// Inserts at the front; returns the new node's handle.
    pub fn push_front(&mut self, value: T) -> usize {
        let idx = self.alloc(value);
        self.link_front(idx);
        self.len += 1;
        idx
    }

    /// Inserts at the back; returns the new node's handle.
    pub fn push_back(&mut self, value: T) -> usize {
        let idx = self.alloc(value);
        self.link_back(idx);
        self.len += 1;
        idx
    }

    /// Removes the node `idx`; `None` if the handle is not live.
    pub fn remove(&mut self, idx: usize) -> Option<T> {
        if !self.is_live(idx) {
            return None;
        }
        self.unlink(idx);
        self.free.push(idx);
        self.len -= 1;
        self.nodes[idx].value.take()
    }

    /// Moves node `idx` to the front; `false` if the handle is not live.
    pub fn move_to_front(&mut self, idx: usize) -> bool {
        if !self.is_live(idx) {
            return false;
        }
        if self.head != idx {
            self.unlink(idx);
            self.link_front(idx);
        }
        true
    }

    pub fn pop_front(&mut self) -> Option<T> {
        self.remove(self.head)
    }

    pub fn pop_back(&mut self) -> Option<T> {
        self.remove(self.tail)
    }

    /// Handle of the back node.
    pub fn back_handle(&self) -> Option<usize> {
        if self.tail == NIL {
            None
        } else {
            Some(self.tail)
        }
    }

    pub fn front(&self) -> Option<&T> {
        self.get(self.head)
    }

    pub fn back(&self) -> Option<&T> {
        self.get(self.tail)
    }

    pub fn get(&self, idx: usize) -> Option<&T> {
        self.nodes.get(idx).and_then(|n| n.value.as_ref())
    }

    pub fn get_mut(&mut self, idx: usize) -> Option<&mut T> {
        self.nodes.get_mut(idx).and_then(|n| n.value.as_mut())
    }

    /// Removes everything and releases all slots.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.free.clear();
        self.head = NIL;
        self.tail = NIL;
        self.len = 0;
    }

    /// Iterates from front to back.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            list: self,
            cursor: self.head,
            remaining: self.len,
        }
    }
}

/// Front-to-back iterator over an [`OrderList`].
pub struct Iter<'a, T> {
    list: &'a OrderList<T>,
    cursor: usize,
    remaining: usize,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        if self.cursor == NIL || self.remaining == 0 {
            return None;
        }
        let node = &self.list.nodes[self.cursor];
        self.cursor = node.next;
        self.remaining -= 1;
        node.value.as_ref()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(list: &OrderList<i32>) -> Vec<i32> {
        list.iter().copied().collect()
    }

    #[test]
    fn push_front_and_back_order() {
        let mut list = OrderList::new();
        list.push_back(2);
        list.push_front(1);
        list.push_back(3);
        assert_eq!(items(&list), vec![1, 2, 3]);
        assert_eq!(list.front(), Some(&1));
        assert_eq!(list.back(), Some(&3));
        assert_eq!(list.len(), 3);
        assert_eq!(list.iter().len(), 3);
        let mut it = list.iter();
        it.next();
        assert_eq!(it.len(), 2);
        it.next();
        it.next();
        assert_eq!(it.len(), 0);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn remove_middle_head_and_tail() {
        let mut list = OrderList::new();
        let a = list.push_back(1);
        let b = list.push_back(2);
        let c = list.push_back(3);
        let d = list.push_back(4);
        assert_eq!(list.remove(b), Some(2));
        assert_eq!(items(&list), vec![1, 3, 4]);
        assert_eq!(list.remove(a), Some(1));
        assert_eq!(items(&list), vec![3, 4]);
        assert_eq!(list.remove(d), Some(4));
        assert_eq!(items(&list), vec![3]);
        assert_eq!(list.front(), list.back());
        assert_eq!(list.remove(c), Some(3));
        assert!(list.is_empty());
        assert_eq!(list.front(), None);
        assert_eq!(list.back_handle(), None);
    }

    #[test]
    fn remove_stale_handle_is_none() {
        let mut list = OrderList::new();
        let a = list.push_back(10);
        assert_eq!(list.remove(a), Some(10));
        assert_eq!(list.remove(a), None);
        assert_eq!(list.remove(99), None);
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn freed_slots_are_reused_lifo() {
        let mut list = OrderList::new();
        let a = list.push_back(1);
        let b = list.push_back(2);
        list.push_back(3);
        list.remove(a);
        list.remove(b);
        assert_eq!(list.push_back(4), b);
        assert_eq!(list.push_back(5), a);
        assert_eq!(list.slots(), 3);
        assert_eq!(items(&list), vec![3, 4, 5]);
    }

    #[test]
    fn move_to_front_reorders() {
        let mut list = OrderList::new();
        let a = list.push_back(1);
        let b = list.push_back(2);
        let c = list.push_back(3);
        assert!(list.move_to_front(c));
        assert_eq!(items(&list), vec![3, 1, 2]);
        assert!(list.move_to_front(b));
        assert_eq!(items(&list), vec![2, 3, 1]);
        assert_eq!(list.back_handle(), Some(a));
        assert!(list.move_to_front(b));
        assert_eq!(items(&list), vec![2, 3, 1]);
        list.remove(a);
        assert!(!list.move_to_front(a));
        assert_eq!(list.back(), Some(&3));
    }

    #[test]
    fn pops_from_both_ends() {
        let mut list = OrderList::new();
        for i in 1..=4 {
            list.push_back(i);
        }
        assert_eq!(list.pop_front(), Some(1));
        assert_eq!(list.pop_back(), Some(4));
        assert_eq!(items(&list), vec![2, 3]);
        assert_eq!(list.pop_back(), Some(3));
        assert_eq!(list.pop_back(), Some(2));
        assert_eq!(list.pop_back(), None);
        assert_eq!(list.pop_front(), None);
    }

    #[test]
    fn get_mut_and_clear() {
        let mut list = OrderList::new();
        let a = list.push_front(5);
        *list.get_mut(a).unwrap() += 10;
        assert_eq!(list.get(a), Some(&15));
        list.clear();
        assert!(list.is_empty());
        assert_eq!(list.slots(), 0);
        assert_eq!(list.get(a), None);
        let b = list.push_front(1);
        assert_eq!(b, 0);
        assert_eq!(items(&list), vec![1]);
    }
}
