//! Graph algorithms over an adjacency-list graph.
//!
//! Nodes are dense indices `0..node_count`; edges carry unsigned integer weights.
//! The crate offers traversals (BFS/DFS), Dijkstra shortest paths, topological
//! sorting with cycle detection, union-find based connectivity and Kruskal's
//! minimum spanning tree.

pub mod graph;
pub mod mst;
pub mod shortest;
pub mod topo;
pub mod traversal;
pub mod unionfind;

pub use graph::{Direction, Edge, Graph, GraphError, NodeId, Weight};
pub use mst::{kruskal, mst_weight, SpanningForest};
pub use shortest::{dijkstra, ShortestPaths};
pub use topo::{find_cycle, topological_sort};
pub use traversal::{bfs, dfs, hop_distances, shortest_hop_path};
pub use unionfind::{component_labels, components, UnionFind};
