//! The adjacency-list graph type and its error type.

use std::fmt;

/// Index of a node; nodes are numbered `0..node_count`.
pub type NodeId = usize;
/// Weight carried by an edge.
pub type Weight = u64;

/// Whether edges are one-way or two-way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Directed,
    Undirected,
}

/// One edge as stored in (or listed from) a graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: NodeId,
    pub to: NodeId,
    pub weight: Weight,
}

/// Errors reported by graph construction and algorithms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// A node index was not below the node count.
    NodeOutOfRange { node: NodeId, len: usize },
    /// Undirected graphs do not accept self loops.
    SelfLoop(NodeId),
    /// The algorithm needs a directed graph.
    NotDirected,
    /// The algorithm needs an undirected graph.
    NotUndirected,
    /// A directed cycle was found; the nodes are listed in cycle order.
    CycleDetected(Vec<NodeId>),
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::NodeOutOfRange { node, len } => {
                write!(f, "node {node} out of range (graph has {len} nodes)")
            }
            GraphError::SelfLoop(node) => write!(f, "self loop on node {node}"),
            GraphError::NotDirected => write!(f, "graph must be directed"),
            GraphError::NotUndirected => write!(f, "graph must be undirected"),
            GraphError::CycleDetected(nodes) => write!(f, "cycle detected: {nodes:?}"),
        }
    }
}

impl std::error::Error for GraphError {}

/// A weighted graph stored as adjacency lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    direction: Direction,
    adj: Vec<Vec<(NodeId, Weight)>>,
    edge_count: usize,
}

impl Graph {
    /// A graph with `nodes` isolated nodes.
    pub fn new(nodes: usize, direction: Direction) -> Self {
        Graph {
            direction,
            adj: vec![Vec::new(); nodes],
            edge_count: 0,
        }
    }

    /// A directed graph with `nodes` isolated nodes.
    pub fn directed(nodes: usize) -> Self {
        Self::new(nodes, Direction::Directed)
    }

    /// An undirected graph with `nodes` isolated nodes.
    pub fn undirected(nodes: usize) -> Self {
        Self::new(nodes, Direction::Undirected)
    }

    /// Builds a graph from `(from, to, weight)` triples.
    pub fn from_edges(
        nodes: usize,
        direction: Direction,
        edges: &[(NodeId, NodeId, Weight)],
    ) -> Result<Self, GraphError> {
        let mut graph = Self::new(nodes, direction);
        for &(from, to, weight) in edges {
            graph.add_edge(from, to, weight)?;
        }
        Ok(graph)
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    pub fn is_directed(&self) -> bool {
        self.direction == Direction::Directed
    }

    pub fn node_count(&self) -> usize {
        self.adj.len()
    }

    /// Number of edges added (an undirected edge counts once).
    pub fn edge_count(&self) -> usize {
        self.edge_count
    }

    /// Appends an isolated node and returns its id.
    pub fn add_node(&mut self) -> NodeId {
        self.adj.push(Vec::new());
        self.adj.len() - 1
    }

    /// Fails unless `node` is a valid index.
    pub fn check_node(&self, node: NodeId) -> Result<(), GraphError> {
        if node >= self.adj.len() {
            return Err(GraphError::NodeOutOfRange {
                node,
                len: self.adj.len(),
            });
        }
        Ok(())
    }

    /// Adds an edge; undirected edges are stored in both adjacency lists.
    pub fn add_edge(&mut self, from: NodeId, to: NodeId, weight: Weight) -> Result<(), GraphError> {
        self.check_node(from)?;
        self.check_node(to)?;
        if from == to && !self.is_directed() {
            return Err(GraphError::SelfLoop(from));
        }
        self.adj[from].push((to, weight));
        if !self.is_directed() {
            self.adj[to].push((from, weight));
        }
        self.edge_count += 1;
        Ok(())
    }

    /// Outgoing `(neighbor, weight)` pairs in insertion order.
    pub fn neighbors(&self, node: NodeId) -> Result<&[(NodeId, Weight)], GraphError> {
        self.check_node(node)?;
        Ok(&self.adj[node])
    }

    /// Whether an edge `from -> to` exists (either direction for undirected graphs).
    pub fn has_edge(&self, from: NodeId, to: NodeId) -> bool {
        match self.adj.get(from) {
            Some(list) => list.iter().any(|&(n, _)| n == to),
            None => false,
        }
    }

    /// The smallest weight among the edges `from -> to`, if any.
    pub fn edge_weight(&self, from: NodeId, to: NodeId) -> Option<Weight> {
        let list = self.adj.get(from)?;
        let mut best: Option<Weight> = None;
        for &(n, w) in list {
            if n != to {
                continue;
            }
            best = match best {
                Some(b) if b <= w => Some(b),
                _ => Some(w),
            };
        }
        best
    }

    /// Number of outgoing edge ends at `node` (0 for unknown nodes).
    pub fn out_degree(&self, node: NodeId) -> usize {
        self.adj.get(node).map_or(0, Vec::len)
    }

    /// Number of edges ending at `node`.
    pub fn in_degree(&self, node: NodeId) -> usize {
        self.adj
            .iter()
            .map(|list| list.iter().filter(|&&(n, _)| n == node).count())
            .sum()
    }

    /// All edges, sorted; undirected edges are listed once with `from < to`.
    pub fn edges(&self) -> Vec<Edge> {
        let mut out = Vec::with_capacity(self.edge_count);
        for (from, list) in self.adj.iter().enumerate() {
            for &(to, weight) in list {
                if self.is_directed() || from < to {
                    out.push(Edge { from, to, weight });
                }
            }
        }
        out.sort();
        out
    }

    /// The graph with every directed edge reversed (undirected graphs are cloned).
    pub fn reversed(&self) -> Graph {
        if !self.is_directed() {
            return self.clone();
        }
        let mut rev = Graph::directed(self.node_count());
        for edge in self.edges() {
            rev.adj[edge.to].push((edge.from, edge.weight));
            rev.edge_count += 1;
        }
        rev
    }

    /// Sum of all edge weights (each undirected edge counted once).
    pub fn total_weight(&self) -> Weight {
        self.edges().iter().map(|e| e.weight).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_graph_has_isolated_nodes() {
        let g = Graph::directed(4);
        assert_eq!(g.node_count(), 4);
        assert_eq!(g.edge_count(), 0);
        assert!(g.is_directed());
        assert_eq!(g.neighbors(3).unwrap(), &[]);
    }

    #[test]
    fn add_node_returns_next_index() {
        let mut g = Graph::undirected(2);
        assert_eq!(g.add_node(), 2);
        assert_eq!(g.add_node(), 3);
        assert_eq!(g.node_count(), 4);
    }

    #[test]
    fn undirected_edge_is_stored_both_ways() {
        let mut g = Graph::undirected(3);
        g.add_edge(0, 2, 7).unwrap();
        assert_eq!(g.neighbors(0).unwrap(), &[(2, 7)]);
        assert_eq!(g.neighbors(2).unwrap(), &[(0, 7)]);
        assert_eq!(g.edge_count(), 1);
    }

    #[test]
    fn directed_edge_is_one_way() {
        let mut g = Graph::directed(3);
        g.add_edge(0, 2, 7).unwrap();
        assert!(g.has_edge(0, 2));
        assert!(!g.has_edge(2, 0));
        assert_eq!(g.out_degree(0), 1);
        assert_eq!(g.out_degree(2), 0);
    }

    #[test]
    fn node_out_of_range_is_rejected() {
        let mut g = Graph::directed(3);
        assert_eq!(
            g.add_edge(0, 3, 1),
            Err(GraphError::NodeOutOfRange { node: 3, len: 3 })
        );
        assert_eq!(
            g.add_edge(5, 0, 1),
            Err(GraphError::NodeOutOfRange { node: 5, len: 3 })
        );
        assert!(g.add_edge(2, 0, 1).is_ok());
        assert_eq!(g.edge_count(), 1);
    }

    #[test]
    fn self_loops_only_in_directed_graphs() {
        let mut u = Graph::undirected(2);
        assert_eq!(u.add_edge(1, 1, 3), Err(GraphError::SelfLoop(1)));
        assert_eq!(u.edge_count(), 0);
        let mut d = Graph::directed(2);
        assert!(d.add_edge(1, 1, 3).is_ok());
        assert_eq!(d.in_degree(1), 1);
    }

    #[test]
    fn edge_weight_picks_smallest_parallel_edge() {
        let g = Graph::from_edges(
            3,
            Direction::Directed,
            &[(0, 1, 9), (0, 2, 1), (0, 1, 4), (0, 1, 6)],
        )
        .unwrap();
        assert_eq!(g.edge_weight(0, 1), Some(4));
        assert_eq!(g.edge_weight(1, 0), None);
        assert_eq!(g.edge_weight(7, 0), None);
    }

    #[test]
    fn in_degree_counts_incoming_edges() {
        let g = Graph::from_edges(
            4,
            Direction::Directed,
            &[(0, 3, 1), (1, 3, 1), (2, 3, 1), (3, 0, 1)],
        )
        .unwrap();
        assert_eq!(g.in_degree(3), 3);
        assert_eq!(g.in_degree(0), 1);
        assert_eq!(g.in_degree(1), 0);
    }

    #[test]
    fn undirected_edges_are_listed_once_sorted() {
        let g = Graph::from_edges(4, Direction::Undirected, &[(3, 1, 5), (0, 2, 1), (2, 1, 4)])
            .unwrap();
        let listed: Vec<(usize, usize, u64)> =
            g.edges().iter().map(|e| (e.from, e.to, e.weight)).collect();
        assert_eq!(listed, vec![(0, 2, 1), (1, 2, 4), (1, 3, 5)]);
        assert_eq!(g.total_weight(), 10);
    }

    #[test]
    fn reversed_flips_directed_edges() {
        let g = Graph::from_edges(3, Direction::Directed, &[(0, 1, 2), (1, 2, 3)]).unwrap();
        let r = g.reversed();
        assert!(r.has_edge(1, 0));
        assert!(r.has_edge(2, 1));
        assert!(!r.has_edge(0, 1));
        assert_eq!(r.edge_count(), 2);
        assert_eq!(r.edge_weight(2, 1), Some(3));
    }

    #[test]
    fn display_mentions_node_and_length() {
        let err = GraphError::NodeOutOfRange { node: 9, len: 4 };
        assert_eq!(err.to_string(), "node 9 out of range (graph has 4 nodes)");
    }
}
