//! Topological ordering of directed graphs, with cycle detection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::graph::{Graph, GraphError, NodeId, Weight};

/// In-degree of every node.
fn in_degrees(graph: &Graph) -> Vec<usize> {
    let mut degrees = vec![0; graph.node_count()];
    for edge in graph.edges() {
        degrees[edge.to] += 1;
    }
    degrees
}

/// The lexicographically smallest topological order (Kahn's algorithm with a min-heap).
///
/// Fails with [`GraphError::NotDirected`] on undirected graphs and with
/// [`GraphError::CycleDetected`] (carrying one cycle) when the graph is not a DAG.
pub fn topological_sort(graph: &Graph) -> Result<Vec<NodeId>, GraphError> {
    if !graph.is_directed() {
        return Err(GraphError::NotDirected);
    }
    let mut degrees = in_degrees(graph);
    let mut ready: BinaryHeap<Reverse<NodeId>> = degrees
        .iter()
        .enumerate()
        .filter(|&(_, &d)| d == 0)
        .map(|(node, _)| Reverse(node))
        .collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(Reverse(node)) = ready.pop() {
        order.push(node);
        for &(next, _) in graph.neighbors(node)? {
            degrees[next] -= 1;
            if degrees[next] == 0 {
                ready.push(Reverse(next));
            }
        }
    }
    if order.len() < graph.node_count() {
        let cycle = find_cycle(graph).unwrap_or_default();
        return Err(GraphError::CycleDetected(cycle));
    }
    Ok(order)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unvisited,
    InProgress,
    Done,
}

/// One directed cycle, listed from its lowest-discovered node in edge order, or `None`.
/// Nodes are explored in ascending id order.
pub fn find_cycle(graph: &Graph) -> Option<Vec<NodeId>> {
    let mut marks = vec![Mark::Unvisited; graph.node_count()];
    let mut stack = Vec::new();
    for start in 0..graph.node_count() {
        if marks[start] == Mark::Unvisited {
            if let Some(cycle) = visit(graph, start, &mut marks, &mut stack) {
                return Some(cycle);
            }
        }
    }
    None
}

fn visit(
    graph: &Graph,
    node: NodeId,
    marks: &mut [Mark],
    stack: &mut Vec<NodeId>,
) -> Option<Vec<NodeId>> {
    marks[node] = Mark::InProgress;
    stack.push(node);
    for &(next, _) in graph.neighbors(node).ok()? {
        match marks[next] {
            Mark::InProgress => {
                let pos = stack.iter().position(|&n| n == next)?;
                return Some(stack[pos..].to_vec());
            }
            Mark::Unvisited => {
                if let Some(cycle) = visit(graph, next, marks, stack) {
                    return Some(cycle);
                }
            }
            Mark::Done => {}
        }
    }
    stack.pop();
    marks[node] = Mark::Done;
    None
}

/// Whether a directed graph has no cycle (undirected graphs are never DAGs here).
pub fn is_dag(graph: &Graph) -> bool {
    graph.is_directed() && find_cycle(graph).is_none()
}

/// Nodes grouped by depth: layer 0 holds the sources, layer k the nodes whose longest
/// chain of predecessors has k edges. Each layer is sorted ascending.
pub fn layers(graph: &Graph) -> Result<Vec<Vec<NodeId>>, GraphError> {
    let order = topological_sort(graph)?;
    let mut depth = vec![0usize; graph.node_count()];
    for &node in &order {
        for &(next, _) in graph.neighbors(node)? {
            if depth[next] < depth[node] + 1 {
                depth[next] = depth[node] + 1;
            }
        }
    }
    let levels = depth.iter().max().map_or(0, |&d| d + 1);
    let mut out = vec![Vec::new(); levels];
    for (node, &d) in depth.iter().enumerate() {
        out[d].push(node);
    }
    Ok(out)
}

/// For each node, the weight of the heaviest path ending there (the "critical path"
/// length in a task graph). Sources get 0.
pub fn longest_path_lengths(graph: &Graph) -> Result<Vec<Weight>, GraphError> {
    let order = topological_sort(graph)?;
    let mut best = vec![0; graph.node_count()];
    for &node in &order {
        for &(next, weight) in graph.neighbors(node)? {
            let candidate = best[node] + weight;
            if candidate > best[next] {
                best[next] = candidate;
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Direction;

    fn dag() -> Graph {
        // 5 -> 2, 5 -> 0, 4 -> 0, 4 -> 1, 2 -> 3, 3 -> 1
        Graph::from_edges(
            6,
            Direction::Directed,
            &[
                (5, 2, 1),
                (5, 0, 1),
                (4, 0, 1),
                (4, 1, 1),
                (2, 3, 1),
                (3, 1, 1),
            ],
        )
        .unwrap()
    }

    #[test]
    fn topological_sort_is_lexicographically_smallest() {
        assert_eq!(topological_sort(&dag()).unwrap(), vec![4, 5, 0, 2, 3, 1]);
    }

    #[test]
    fn topological_sort_of_edgeless_graph_is_identity() {
        assert_eq!(
            topological_sort(&Graph::directed(4)).unwrap(),
            vec![0, 1, 2, 3]
        );
        assert_eq!(
            topological_sort(&Graph::directed(0)).unwrap(),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn topological_sort_reports_cycle() {
        let g = Graph::from_edges(
            4,
            Direction::Directed,
            &[(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 1, 1)],
        )
        .unwrap();
        assert_eq!(
            topological_sort(&g),
            Err(GraphError::CycleDetected(vec![1, 2, 3]))
        );
    }

    #[test]
    fn topological_sort_rejects_undirected() {
        let g = Graph::undirected(2);
        assert_eq!(topological_sort(&g), Err(GraphError::NotDirected));
    }

    #[test]
    fn find_cycle_on_self_loop() {
        let g = Graph::from_edges(3, Direction::Directed, &[(0, 1, 1), (2, 2, 1)]).unwrap();
        assert_eq!(find_cycle(&g), Some(vec![2]));
        assert!(!is_dag(&g));
    }

    #[test]
    fn diamond_is_not_a_cycle() {
        let g = Graph::from_edges(
            4,
            Direction::Directed,
            &[(0, 1, 1), (0, 2, 1), (1, 3, 1), (2, 3, 1)],
        )
        .unwrap();
        assert_eq!(find_cycle(&g), None);
        assert!(is_dag(&g));
        assert!(!is_dag(&Graph::undirected(1)));
    }

    #[test]
    fn layers_group_by_longest_chain() {
        assert_eq!(
            layers(&dag()).unwrap(),
            vec![vec![4, 5], vec![0, 2], vec![3], vec![1]]
        );
        assert_eq!(
            layers(&Graph::directed(0)).unwrap(),
            Vec::<Vec<usize>>::new()
        );
    }

    #[test]
    fn longest_paths_accumulate_weights() {
        let g = Graph::from_edges(
            5,
            Direction::Directed,
            &[(0, 1, 3), (0, 2, 2), (1, 3, 4), (2, 3, 6), (3, 4, 1)],
        )
        .unwrap();
        assert_eq!(longest_path_lengths(&g).unwrap(), vec![0, 3, 2, 8, 9]);
    }

    #[test]
    fn longest_paths_fail_on_cycle() {
        let g = Graph::from_edges(2, Direction::Directed, &[(0, 1, 1), (1, 0, 1)]).unwrap();
        assert_eq!(
            longest_path_lengths(&g),
            Err(GraphError::CycleDetected(vec![0, 1]))
        );
    }
}
