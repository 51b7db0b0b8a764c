//! Disjoint-set forest and connected components.

use crate::graph::{Graph, NodeId};

/// Union-find with path compression and union by size.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
    sets: usize,
}

impl UnionFind {
    /// `n` singleton sets `{0}, {1}, ..., {n-1}`.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n],
            sets: n,
        }
    }

    /// Number of elements.
    pub fn element_count(&self) -> usize {
        self.parent.len()
    }

    /// Number of disjoint sets.
    pub fn set_count(&self) -> usize {
        self.sets
    }

    /// Representative of the set containing `x`, compressing the path on the way.
    ///
    /// # Panics
    /// If `x` is not below the element count.
    pub fn find(&mut self, x: usize) -> usize {
        let p = self.parent[x];
        if p == x {
            return x;
        }
        let root = self.find(p);
        self.parent[x] = root;
        root
    }

    /// Merges the sets of `a` and `b`; returns false if they were already joined.
    /// The larger set's root stays the root; on equal sizes `a`'s root wins.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let ra = self.find(a);
        let rb = self.find(b);
        if ra == rb {
            return false;
        }
        let (big, small) = if self.size[ra] >= self.size[rb] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small] = big;
        self.size[big] += self.size[small];
        self.sets -= 1;
        true
    }

    /// Whether `a` and `b` are in the same set.
    pub fn connected(&mut self, a: usize, b: usize) -> bool {
        self.find(a) == self.find(b)
    }

    /// Size of the set containing `x`.
    pub fn set_size(&mut self, x: usize) -> usize {
        let root = self.find(x);
        self.size[root]
    }

    /// Size of the largest set (0 when there are no elements).
    pub fn largest_set(&mut self) -> usize {
        let mut best = 0;
        for x in 0..self.parent.len() {
            if self.parent[x] == x && self.size[x] > best {
                best = self.size[x];
            }
        }
        best
    }
}

/// Union-find over the graph's edges (direction ignored).
fn joined(graph: &Graph) -> UnionFind {
    let mut uf = UnionFind::new(graph.node_count());
    for edge in graph.edges() {
        uf.union(edge.from, edge.to);
    }
    uf
}

/// Weakly connected components, each sorted ascending, ordered by their smallest node.
pub fn components(graph: &Graph) -> Vec<Vec<NodeId>> {
    let mut uf = joined(graph);
    let mut index_of_root: Vec<Option<usize>> = vec![None; graph.node_count()];
    let mut out: Vec<Vec<NodeId>> = Vec::new();
    for node in 0..graph.node_count() {
        let root = uf.find(node);
        match index_of_root[root] {
            Some(i) => out[i].push(node),
            None => {
                index_of_root[root] = Some(out.len());
                out.push(vec![node]);
            }
        }
    }
    out
}

/// For each node, the index of its component in [`components`] order.
pub fn component_labels(graph: &Graph) -> Vec<usize> {
    let mut labels = vec![0; graph.node_count()];
    for (i, comp) in components(graph).iter().enumerate() {
        for &node in comp {
            labels[node] = i;
        }
    }
    labels
}

/// Number of weakly connected components.
pub fn component_count(graph: &Graph) -> usize {
    joined(graph).set_count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Direction;

    #[test]
    fn starts_as_singletons() {
        let mut uf = UnionFind::new(4);
        assert_eq!(uf.set_count(), 4);
        assert_eq!(uf.element_count(), 4);
        assert_eq!(uf.find(3), 3);
        assert!(!uf.connected(0, 1));
        assert_eq!(uf.largest_set(), 1);
    }

    #[test]
    fn union_merges_and_reports_novelty() {
        let mut uf = UnionFind::new(5);
        assert!(uf.union(0, 1));
        assert!(uf.union(3, 4));
        assert!(!uf.union(1, 0));
        assert_eq!(uf.set_count(), 3);
        assert!(uf.connected(0, 1));
        assert!(!uf.connected(1, 3));
    }

    #[test]
    fn set_sizes_accumulate() {
        let mut uf = UnionFind::new(6);
        uf.union(0, 1);
        uf.union(2, 3);
        uf.union(1, 3);
        assert_eq!(uf.set_size(2), 4);
        assert_eq!(uf.set_size(4), 1);
        assert_eq!(uf.largest_set(), 4);
        assert_eq!(UnionFind::new(0).largest_set(), 0);
    }

    #[test]
    fn larger_set_root_survives() {
        let mut uf = UnionFind::new(4);
        uf.union(1, 2);
        uf.union(3, 1);
        assert_eq!(uf.find(3), 1);
        uf.union(0, 3);
        assert_eq!(uf.find(0), 1);
    }

    #[test]
    fn equal_sizes_keep_first_root() {
        let mut uf = UnionFind::new(3);
        uf.union(2, 0);
        assert_eq!(uf.find(0), 2);
    }

    #[test]
    fn components_are_sorted_by_smallest_member() {
        let g = Graph::from_edges(7, Direction::Undirected, &[(4, 1, 1), (6, 0, 1), (1, 5, 1)])
            .unwrap();
        assert_eq!(
            components(&g),
            vec![vec![0, 6], vec![1, 4, 5], vec![2], vec![3]]
        );
        assert_eq!(component_labels(&g), vec![0, 1, 2, 3, 1, 1, 0]);
        assert_eq!(component_count(&g), 4);
    }

    #[test]
    fn directed_edges_join_weakly() {
        let g = Graph::from_edges(3, Direction::Directed, &[(2, 0, 1)]).unwrap();
        assert_eq!(components(&g), vec![vec![0, 2], vec![1]]);
    }
}
