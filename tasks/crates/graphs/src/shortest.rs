//! Single-source shortest paths with Dijkstra's algorithm.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::graph::{Graph, GraphError, NodeId, Weight};

/// Result of a single-source shortest path search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortestPaths {
    source: NodeId,
    dist: Vec<Option<Weight>>,
    prev: Vec<Option<NodeId>>,
}

impl ShortestPaths {
    pub fn source(&self) -> NodeId {
        self.source
    }

    /// Distance from the source to `target` (`None` if unreachable or unknown).
    pub fn distance_to(&self, target: NodeId) -> Option<Weight> {
        self.dist.get(target).copied().flatten()
    }

    /// All distances, indexed by node.
    pub fn distances(&self) -> &[Option<Weight>] {
        &self.dist
    }

    /// The shortest path from the source to `target`, both ends included.
    pub fn path_to(&self, target: NodeId) -> Option<Vec<NodeId>> {
        self.distance_to(target)?;
        let mut path = vec![target];
        let mut current = target;
        while current != self.source {
            current = self.prev[current]?;
            path.push(current);
            if path.len() > self.dist.len() {
                return None;
            }
        }
        path.reverse();
        Some(path)
    }

    /// The reachable node farthest from the source (lowest id on ties) and its distance.
    pub fn farthest(&self) -> (NodeId, Weight) {
        let mut best = (self.source, 0);
        for (node, d) in self.dist.iter().enumerate() {
            if let Some(d) = *d {
                if d > best.1 {
                    best = (node, d);
                }
            }
        }
        best
    }

    /// Number of nodes reachable from the source, the source included.
    pub fn reachable_count(&self) -> usize {
        self.dist.iter().filter(|d| d.is_some()).count()
    }
}

/// Dijkstra's algorithm from `source`. On equal distances the first path found is kept;
/// distances that would overflow `u64` are treated as unreachable.
pub fn dijkstra(graph: &Graph, source: NodeId) -> Result<ShortestPaths, GraphError> {
    graph.check_node(source)?;
    let n = graph.node_count();
    let mut dist: Vec<Option<Weight>> = vec![None; n];
    let mut prev: Vec<Option<NodeId>> = vec![None; n];
    let mut heap = BinaryHeap::new();
    dist[source] = Some(0);
    heap.push(Reverse((0, source)));
    while let Some(Reverse((d, node))) = heap.pop() {
        match dist[node] {
            Some(best) if d > best => continue,
            _ => {}
        }
        for &(next, weight) in graph.neighbors(node)? {
            let Some(candidate) = d.checked_add(weight) else {
                continue;
            };
            let improves = match dist[next] {
                Some(current) => candidate < current,
                None => true,
            };
            if improves {
                dist[next] = Some(candidate);
                prev[next] = Some(node);
                heap.push(Reverse((candidate, next)));
            }
        }
    }
    Ok(ShortestPaths { source, dist, prev })
}

/// Length of the shortest path between two nodes, if one exists.
pub fn distance(graph: &Graph, from: NodeId, to: NodeId) -> Result<Option<Weight>, GraphError> {
    graph.check_node(to)?;
    Ok(dijkstra(graph, from)?.distance_to(to))
}

/// The largest finite shortest-path distance over all ordered pairs (0 for graphs
/// without edges). Unreachable pairs are ignored.
pub fn diameter(graph: &Graph) -> Weight {
    let mut best = 0;
    for source in 0..graph.node_count() {
        if let Ok(paths) = dijkstra(graph, source) {
            let (_, d) = paths.farthest();
            best = best.max(d);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Direction;

    fn city() -> Graph {
        Graph::from_edges(
            6,
            Direction::Directed,
            &[
                (0, 1, 7),
                (0, 2, 9),
                (0, 5, 14),
                (1, 2, 10),
                (1, 3, 15),
                (2, 3, 11),
                (2, 5, 2),
                (3, 4, 6),
                (5, 4, 9),
            ],
        )
        .unwrap()
    }

    #[test]
    fn dijkstra_distances_match_known_values() {
        let sp = dijkstra(&city(), 0).unwrap();
        assert_eq!(
            sp.distances(),
            &[Some(0), Some(7), Some(9), Some(20), Some(20), Some(11)]
        );
    }

    #[test]
    fn dijkstra_path_goes_through_cheaper_route() {
        let sp = dijkstra(&city(), 0).unwrap();
        assert_eq!(sp.path_to(4), Some(vec![0, 2, 5, 4]));
        assert_eq!(sp.path_to(3), Some(vec![0, 2, 3]));
        assert_eq!(sp.path_to(0), Some(vec![0]));
    }

    #[test]
    fn unreachable_nodes_have_no_distance() {
        let sp = dijkstra(&city(), 3).unwrap();
        assert_eq!(sp.distance_to(4), Some(6));
        assert_eq!(sp.distance_to(0), None);
        assert_eq!(sp.path_to(0), None);
        assert_eq!(sp.reachable_count(), 2);
    }

    #[test]
    fn ties_keep_first_discovered_predecessor() {
        let g = Graph::from_edges(
            4,
            Direction::Directed,
            &[(0, 1, 1), (0, 2, 1), (1, 3, 1), (2, 3, 1)],
        )
        .unwrap();
        let sp = dijkstra(&g, 0).unwrap();
        assert_eq!(sp.path_to(3), Some(vec![0, 1, 3]));
        assert_eq!(sp.distance_to(3), Some(2));
    }

    #[test]
    fn zero_weight_edges_are_allowed() {
        let g = Graph::from_edges(3, Direction::Undirected, &[(0, 1, 0), (1, 2, 0)]).unwrap();
        let sp = dijkstra(&g, 2).unwrap();
        assert_eq!(sp.distances(), &[Some(0), Some(0), Some(0)]);
        assert_eq!(sp.path_to(0), Some(vec![2, 1, 0]));
    }

    #[test]
    fn overflowing_paths_are_skipped() {
        let g = Graph::from_edges(3, Direction::Directed, &[(0, 1, u64::MAX), (1, 2, 1)]).unwrap();
        let sp = dijkstra(&g, 0).unwrap();
        assert_eq!(sp.distance_to(1), Some(u64::MAX));
        assert_eq!(sp.distance_to(2), None);
    }

    #[test]
    fn farthest_prefers_lowest_id_on_ties() {
        let g = Graph::from_edges(4, Direction::Undirected, &[(0, 1, 5), (0, 2, 3), (0, 3, 5)])
            .unwrap();
        let sp = dijkstra(&g, 0).unwrap();
        assert_eq!(sp.farthest(), (1, 5));
        let lonely = dijkstra(&Graph::undirected(2), 1).unwrap();
        assert_eq!(lonely.farthest(), (1, 0));
    }

    #[test]
    fn distance_helper_and_invalid_nodes() {
        let g = city();
        assert_eq!(distance(&g, 1, 4).unwrap(), Some(21));
        assert_eq!(distance(&g, 4, 1).unwrap(), None);
        assert_eq!(
            distance(&g, 0, 6),
            Err(GraphError::NodeOutOfRange { node: 6, len: 6 })
        );
        assert!(dijkstra(&g, 9).is_err());
    }

    #[test]
    fn diameter_of_weighted_path() {
        let g = Graph::from_edges(4, Direction::Undirected, &[(0, 1, 2), (1, 2, 3), (2, 3, 4)])
            .unwrap();
        assert_eq!(diameter(&g), 9);
        assert_eq!(diameter(&Graph::undirected(3)), 0);
    }
}
