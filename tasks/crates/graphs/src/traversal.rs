//! Breadth-first and depth-first traversals.

use std::collections::VecDeque;

use crate::graph::{Graph, GraphError, NodeId};

/// Nodes reachable from `start` in breadth-first order (neighbors in insertion order).
pub fn bfs(graph: &Graph, start: NodeId) -> Result<Vec<NodeId>, GraphError> {
    graph.check_node(start)?;
    let mut seen = vec![false; graph.node_count()];
    let mut order = Vec::new();
    let mut queue = VecDeque::new();
    seen[start] = true;
    queue.push_back(start);
    while let Some(node) = queue.pop_front() {
        order.push(node);
        for &(next, _) in graph.neighbors(node)? {
            if !seen[next] {
                seen[next] = true;
                queue.push_back(next);
            }
        }
    }
    Ok(order)
}

/// Nodes reachable from `start` in depth-first preorder, visiting neighbors in
/// insertion order (the same order a recursive DFS would produce).
pub fn dfs(graph: &Graph, start: NodeId) -> Result<Vec<NodeId>, GraphError> {
    graph.check_node(start)?;
    let mut seen = vec![false; graph.node_count()];
    let mut order = Vec::new();
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        if seen[node] {
            continue;
        }
        seen[node] = true;
        order.push(node);
        for &(next, _) in graph.neighbors(node)?.iter().rev() {
            if !seen[next] {
                stack.push(next);
            }
        }
    }
    Ok(order)
}

/// Number of edges on a fewest-hop path from `start` to every node (`None` if unreachable).
pub fn hop_distances(graph: &Graph, start: NodeId) -> Result<Vec<Option<usize>>, GraphError> {
    graph.check_node(start)?;
    let mut dist = vec![None; graph.node_count()];
    let mut queue = VecDeque::new();
    dist[start] = Some(0);
    queue.push_back(start);
    while let Some(node) = queue.pop_front() {
        let here = dist[node].unwrap_or(0);
        for &(next, _) in graph.neighbors(node)? {
            if dist[next].is_none() {
                dist[next] = Some(here + 1);
                queue.push_back(next);
            }
        }
    }
    Ok(dist)
}

/// A path with the fewest edges from `from` to `to`, both ends included.
pub fn shortest_hop_path(
    graph: &Graph,
    from: NodeId,
    to: NodeId,
) -> Result<Option<Vec<NodeId>>, GraphError> {
    graph.check_node(from)?;
    graph.check_node(to)?;
    if from == to {
        return Ok(Some(vec![from]));
    }
    let mut parent: Vec<Option<NodeId>> = vec![None; graph.node_count()];
    let mut seen = vec![false; graph.node_count()];
    let mut queue = VecDeque::new();
    seen[from] = true;
    queue.push_back(from);
    while let Some(node) = queue.pop_front() {
        for &(next, _) in graph.neighbors(node)? {
            if seen[next] {
                continue;
            }
            seen[next] = true;
            parent[next] = Some(node);
            if next == to {
                return Ok(Some(walk_back(&parent, to)));
            }
            queue.push_back(next);
        }
    }
    Ok(None)
}

/// Follows parent links from `end` back to the root and returns the path root-first.
fn walk_back(parent: &[Option<NodeId>], end: NodeId) -> Vec<NodeId> {
    let mut path = vec![end];
    let mut current = end;
    for _ in 0..parent.len() {
        match parent[current] {
            Some(p) => {
                path.push(p);
                current = p;
            }
            None => break,
        }
    }
    path.reverse();
    path
}

/// Nodes at most `max_hops` edges away from `start`, in ascending id order.
pub fn within_hops(
    graph: &Graph,
    start: NodeId,
    max_hops: usize,
) -> Result<Vec<NodeId>, GraphError> {
    let dist = hop_distances(graph, start)?;
    Ok(dist
        .iter()
        .enumerate()
        .filter_map(|(node, d)| match d {
            Some(h) if *h <= max_hops => Some(node),
            _ => None,
        })
        .collect())
}

/// Whether `to` can be reached from `from`.
pub fn is_reachable(graph: &Graph, from: NodeId, to: NodeId) -> Result<bool, GraphError> {
    graph.check_node(to)?;
    Ok(hop_distances(graph, from)?[to].is_some())
}

/// Whether every node is reachable from node 0 (true for the empty graph).
pub fn is_connected(graph: &Graph) -> bool {
    if graph.node_count() == 0 {
        return true;
    }
    match bfs(graph, 0) {
        Ok(order) => order.len() == graph.node_count(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Direction;

    fn sample() -> Graph {
        // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 3 -> 4, 5 isolated
        Graph::from_edges(
            6,
            Direction::Directed,
            &[(0, 1, 1), (0, 2, 1), (1, 3, 1), (2, 3, 1), (3, 4, 1)],
        )
        .unwrap()
    }

    #[test]
    fn bfs_visits_level_by_level() {
        assert_eq!(bfs(&sample(), 0).unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn dfs_goes_deep_first() {
        assert_eq!(dfs(&sample(), 0).unwrap(), vec![0, 1, 3, 4, 2]);
    }

    #[test]
    fn dfs_on_undirected_cycle_visits_each_node_once() {
        let g = Graph::from_edges(
            4,
            Direction::Undirected,
            &[(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 0, 1)],
        )
        .unwrap();
        assert_eq!(dfs(&g, 0).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(bfs(&g, 0).unwrap(), vec![0, 1, 3, 2]);
    }

    #[test]
    fn traversal_from_invalid_node_fails() {
        let g = sample();
        assert_eq!(
            bfs(&g, 6),
            Err(GraphError::NodeOutOfRange { node: 6, len: 6 })
        );
        assert!(dfs(&g, 6).is_err());
        assert!(hop_distances(&g, 6).is_err());
    }

    #[test]
    fn hop_distances_count_edges() {
        let d = hop_distances(&sample(), 0).unwrap();
        assert_eq!(d, vec![Some(0), Some(1), Some(1), Some(2), Some(3), None]);
    }

    #[test]
    fn shortest_hop_path_reconstructs_route() {
        let g = sample();
        assert_eq!(shortest_hop_path(&g, 0, 4).unwrap(), Some(vec![0, 1, 3, 4]));
        assert_eq!(shortest_hop_path(&g, 2, 4).unwrap(), Some(vec![2, 3, 4]));
        assert_eq!(shortest_hop_path(&g, 4, 0).unwrap(), None);
    }

    #[test]
    fn shortest_hop_path_to_self_is_single_node() {
        assert_eq!(shortest_hop_path(&sample(), 5, 5).unwrap(), Some(vec![5]));
    }

    #[test]
    fn within_hops_is_inclusive() {
        let g = sample();
        assert_eq!(within_hops(&g, 0, 0).unwrap(), vec![0]);
        assert_eq!(within_hops(&g, 0, 1).unwrap(), vec![0, 1, 2]);
        assert_eq!(within_hops(&g, 0, 2).unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn reachability_respects_direction() {
        let g = sample();
        assert!(is_reachable(&g, 0, 4).unwrap());
        assert!(!is_reachable(&g, 4, 0).unwrap());
        assert!(!is_reachable(&g, 0, 5).unwrap());
    }

    #[test]
    fn connectivity_check() {
        assert!(!is_connected(&sample()));
        let line = Graph::from_edges(3, Direction::Undirected, &[(0, 1, 1), (2, 1, 1)]).unwrap();
        assert!(is_connected(&line));
        assert!(is_connected(&Graph::undirected(0)));
        assert!(!is_connected(&Graph::undirected(2)));
    }
}
