//! Minimum spanning forests with Kruskal's algorithm.

use crate::graph::{Edge, Graph, GraphError, Weight};
use crate::unionfind::UnionFind;

/// A minimum spanning forest: one tree per connected component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanningForest {
    /// Chosen edges, in the order Kruskal accepted them.
    pub edges: Vec<Edge>,
    /// Sum of the chosen edge weights.
    pub total_weight: Weight,
    /// Number of trees (connected components).
    pub trees: usize,
}

impl SpanningForest {
    /// Whether the forest is a single tree covering every node.
    pub fn is_spanning_tree(&self) -> bool {
        self.trees == 1
    }

    /// The heaviest chosen edge weight (the minimax "bottleneck"), if any edge was chosen.
    pub fn bottleneck(&self) -> Option<Weight> {
        self.edges.iter().map(|e| e.weight).max()
    }
}

/// Kruskal's algorithm. Edges are considered by `(weight, from, to)`, so the result is
/// deterministic when weights tie. Only undirected graphs are accepted.
pub fn kruskal(graph: &Graph) -> Result<SpanningForest, GraphError> {
    if graph.is_directed() {
        return Err(GraphError::NotUndirected);
    }
    let mut candidates = graph.edges();
    candidates.sort_by_key(|e| (e.weight, e.from, e.to));
    let mut uf = UnionFind::new(graph.node_count());
    let mut edges = Vec::new();
    let mut total_weight = 0;
    let target = graph.node_count().saturating_sub(1);
    for edge in candidates {
        if edges.len() == target {
            break;
        }
        if uf.union(edge.from, edge.to) {
            total_weight += edge.weight;
            edges.push(edge);
        }
    }
    Ok(SpanningForest {
        edges,
        total_weight,
        trees: uf.set_count(),
    })
}

/// Weight of a minimum spanning tree, or `None` if the graph is disconnected.
/// The empty graph has weight `Some(0)`.
pub fn mst_weight(graph: &Graph) -> Result<Option<Weight>, GraphError> {
    let forest = kruskal(graph)?;
    if forest.trees > 1 {
        return Ok(None);
    }
    Ok(Some(forest.total_weight))
}

/// How much cheaper the minimum spanning tree is than keeping every edge.
pub fn savings(graph: &Graph) -> Result<Weight, GraphError> {
    let forest = kruskal(graph)?;
    Ok(graph.total_weight() - forest.total_weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Direction;

    fn weighted() -> Graph {
        Graph::from_edges(
            5,
            Direction::Undirected,
            &[
                (0, 1, 4),
                (0, 2, 1),
                (1, 2, 2),
                (1, 3, 5),
                (2, 3, 8),
                (3, 4, 3),
                (2, 4, 9),
            ],
        )
        .unwrap()
    }

    #[test]
    fn kruskal_picks_cheapest_edges() {
        let forest = kruskal(&weighted()).unwrap();
        let picked: Vec<(usize, usize, u64)> = forest
            .edges
            .iter()
            .map(|e| (e.from, e.to, e.weight))
            .collect();
        assert_eq!(picked, vec![(0, 2, 1), (1, 2, 2), (3, 4, 3), (1, 3, 5)]);
        assert_eq!(forest.total_weight, 11);
        assert!(forest.is_spanning_tree());
        assert_eq!(forest.bottleneck(), Some(5));
    }

    #[test]
    fn kruskal_breaks_ties_by_endpoints() {
        let g = Graph::from_edges(3, Direction::Undirected, &[(1, 2, 1), (0, 2, 1), (0, 1, 1)])
            .unwrap();
        let forest = kruskal(&g).unwrap();
        let picked: Vec<(usize, usize)> = forest.edges.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(picked, vec![(0, 1), (0, 2)]);
        assert_eq!(forest.total_weight, 2);
    }

    #[test]
    fn disconnected_graph_gives_forest() {
        let g = Graph::from_edges(5, Direction::Undirected, &[(0, 1, 3), (2, 3, 4)]).unwrap();
        let forest = kruskal(&g).unwrap();
        assert_eq!(forest.trees, 3);
        assert_eq!(forest.total_weight, 7);
        assert!(!forest.is_spanning_tree());
        assert_eq!(mst_weight(&g).unwrap(), None);
    }

    #[test]
    fn mst_weight_of_trivial_graphs() {
        assert_eq!(mst_weight(&Graph::undirected(1)).unwrap(), Some(0));
        assert_eq!(mst_weight(&Graph::undirected(0)).unwrap(), Some(0));
        assert_eq!(mst_weight(&weighted()).unwrap(), Some(11));
        let two_trees = Graph::from_edges(3, Direction::Undirected, &[(0, 1, 1)]).unwrap();
        assert_eq!(mst_weight(&two_trees).unwrap(), None);
        assert_eq!(kruskal(&Graph::undirected(0)).unwrap().bottleneck(), None);
    }

    #[test]
    fn parallel_edges_use_cheapest() {
        let g = Graph::from_edges(2, Direction::Undirected, &[(0, 1, 9), (1, 0, 2)]).unwrap();
        let forest = kruskal(&g).unwrap();
        assert_eq!(forest.edges.len(), 1);
        assert_eq!(forest.total_weight, 2);
    }

    #[test]
    fn kruskal_rejects_directed_graphs() {
        assert_eq!(kruskal(&Graph::directed(3)), Err(GraphError::NotUndirected));
        assert_eq!(savings(&Graph::directed(3)), Err(GraphError::NotUndirected));
    }

    #[test]
    fn savings_is_total_minus_tree() {
        assert_eq!(savings(&weighted()).unwrap(), 32 - 11);
    }
}
