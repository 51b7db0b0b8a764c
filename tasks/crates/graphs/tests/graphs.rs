use graphs::shortest::diameter;
use graphs::topo::layers;
use graphs::traversal::within_hops;
use graphs::{
    bfs, component_labels, components, dfs, dijkstra, find_cycle, hop_distances, kruskal,
    mst_weight, shortest_hop_path, topological_sort, Direction, Graph, GraphError,
};

fn grid(width: usize, height: usize) -> Graph {
    let mut g = Graph::undirected(width * height);
    for y in 0..height {
        for x in 0..width {
            let id = y * width + x;
            if x + 1 < width {
                g.add_edge(id, id + 1, (x + y + 1) as u64).unwrap();
            }
            if y + 1 < height {
                g.add_edge(id, id + width, 2).unwrap();
            }
        }
    }
    g
}

#[test]
fn grid_hop_distances_are_manhattan() {
    let g = grid(4, 3);
    let hops = hop_distances(&g, 0).unwrap();
    for y in 0..3 {
        for x in 0..4 {
            assert_eq!(hops[y * 4 + x], Some(x + y), "cell ({x},{y})");
        }
    }
    assert_eq!(shortest_hop_path(&g, 0, 11).unwrap().unwrap().len(), 6);
}

#[test]
fn grid_weighted_distances_and_tree() {
    let g = grid(3, 2);
    // Row 0 edges: 1, 2; row 1 edges: 2, 3; all vertical edges weigh 2.
    let sp = dijkstra(&g, 0).unwrap();
    assert_eq!(
        sp.distances(),
        &[Some(0), Some(1), Some(3), Some(2), Some(3), Some(5)]
    );
    assert_eq!(sp.path_to(5), Some(vec![0, 1, 2, 5]));
    assert_eq!(mst_weight(&g).unwrap(), Some(1 + 2 + 2 + 2 + 2));
    assert_eq!(diameter(&g), 5);
}

#[test]
fn build_pipeline_orders_and_layers() {
    // compile(0) -> link(1) -> package(3); test(2) depends on compile; docs(4) standalone
    let g = Graph::from_edges(
        5,
        Direction::Directed,
        &[(0, 1, 3), (1, 3, 1), (0, 2, 2), (2, 3, 4)],
    )
    .unwrap();
    assert_eq!(topological_sort(&g).unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(layers(&g).unwrap(), vec![vec![0, 4], vec![1, 2], vec![3]]);
    assert_eq!(find_cycle(&g), None);
}

#[test]
fn adding_back_edge_creates_cycle() {
    let mut g = Graph::from_edges(3, Direction::Directed, &[(0, 1, 1), (1, 2, 1)]).unwrap();
    assert!(topological_sort(&g).is_ok());
    g.add_edge(2, 0, 1).unwrap();
    assert_eq!(
        topological_sort(&g),
        Err(GraphError::CycleDetected(vec![0, 1, 2]))
    );
}

#[test]
fn components_agree_with_traversals() {
    let g = Graph::from_edges(
        8,
        Direction::Undirected,
        &[(0, 3, 1), (3, 5, 1), (1, 2, 1), (6, 7, 1)],
    )
    .unwrap();
    let comps = components(&g);
    assert_eq!(comps.len(), 4);
    for comp in &comps {
        let mut seen = bfs(&g, comp[0]).unwrap();
        seen.sort();
        assert_eq!(&seen, comp);
        let mut deep = dfs(&g, comp[0]).unwrap();
        deep.sort();
        assert_eq!(&deep, comp);
    }
    assert_eq!(component_labels(&g), vec![0, 1, 1, 0, 2, 0, 3, 3]);
    assert_eq!(kruskal(&g).unwrap().trees, 4);
}

#[test]
fn within_hops_on_star() {
    let g = Graph::from_edges(
        5,
        Direction::Undirected,
        &[(0, 1, 1), (0, 2, 1), (0, 3, 1), (3, 4, 1)],
    )
    .unwrap();
    assert_eq!(within_hops(&g, 1, 1).unwrap(), vec![0, 1]);
    assert_eq!(within_hops(&g, 1, 2).unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(within_hops(&g, 1, 3).unwrap(), vec![0, 1, 2, 3, 4]);
}
