//! The deepest path through a call graph whose nodes carry frames and whose edges carry
//! the depth their call leaves on the stack, without recursion of its own (a deep or
//! malformed graph cannot overflow the analysing process) and without hanging on a
//! cycle: a cycle is cut where it closes and reported.

/// A call or tail jump: to `to`, which starts `offset` bytes below the caller's entry
/// stack pointer (the depth at the site, plus 8 for a call's return address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub to: usize,
    pub offset: u64,
}

/// The graph: each node's own frame and its edges.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub frames: Vec<u64>,
    pub edges: Vec<Vec<Edge>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Open,
    Done,
}

/// Deepest stack use from each node, found on demand and kept across roots.
pub struct Deepest<'g> {
    graph: &'g Graph,
    mark: Vec<Mark>,
    /// Bytes below the node's entry stack pointer its deepest path reaches.
    depth: Vec<u64>,
    /// The edge that path takes, if it leaves the node.
    via: Vec<Option<Edge>>,
    /// Cycles found, each as the nodes around it in call order.
    pub cycles: Vec<Vec<usize>>,
}

impl<'g> Deepest<'g> {
    pub fn new(graph: &'g Graph) -> Self {
        let n = graph.frames.len();
        Deepest {
            graph,
            mark: vec![Mark::New; n],
            depth: vec![0; n],
            via: vec![None; n],
            cycles: Vec::new(),
        }
    }

    /// The deepest stack use below `root`'s entry stack pointer (its return address
    /// excluded), and the path to it: the nodes from `root` on.
    pub fn from(&mut self, root: usize) -> (u64, Vec<usize>) {
        self.explore(root);
        let mut path = vec![root];
        let mut at = root;
        while let Some(e) = self.via[at] {
            // `via` only points at nodes finished before: no cycle, but bound it anyway.
            if path.len() > self.graph.frames.len() {
                break;
            }
            path.push(e.to);
            at = e.to;
        }
        (self.depth[root], path)
    }

    fn explore(&mut self, root: usize) {
        if self.mark[root] != Mark::New {
            return;
        }
        // (node, next edge to look at)
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        self.open(root);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let edges = &self.graph.edges[node];
            let Some(&e) = edges.get(*next) else {
                self.mark[node] = Mark::Done;
                stack.pop();
                if let Some(&(parent, k)) = stack.last() {
                    self.consider(parent, self.graph.edges[parent][k - 1]);
                }
                continue;
            };
            *next += 1;
            match self.mark[e.to] {
                Mark::New => {
                    self.open(e.to);
                    stack.push((e.to, 0));
                }
                Mark::Open => {
                    // A cycle: the nodes from `e.to` to here on the DFS stack.
                    let from = stack.iter().position(|&(n, _)| n == e.to).unwrap_or(0);
                    self.cycles.push(stack[from..].iter().map(|&(n, _)| n).collect());
                }
                Mark::Done => self.consider(node, e),
            }
        }
    }

    fn open(&mut self, n: usize) {
        self.mark[n] = Mark::Open;
        self.depth[n] = self.graph.frames[n];
    }

    fn consider(&mut self, node: usize, e: Edge) {
        let d = e.offset.saturating_add(self.depth[e.to]);
        if d > self.depth[node] {
            self.depth[node] = d;
            self.via[node] = Some(e);
        }
    }
}

/// The nodes reachable from `root`, `root` included.
pub fn reachable(graph: &Graph, root: usize) -> Vec<bool> {
    let mut seen = vec![false; graph.frames.len()];
    let mut work = vec![root];
    seen[root] = true;
    while let Some(n) = work.pop() {
        for e in &graph.edges[n] {
            if !seen[e.to] {
                seen[e.to] = true;
                work.push(e.to);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(frames: &[u64], edges: &[(usize, usize, u64)]) -> Graph {
        let mut g = Graph {
            frames: frames.to_vec(),
            edges: vec![Vec::new(); frames.len()],
        };
        for &(a, b, offset) in edges {
            g.edges[a].push(Edge { to: b, offset });
        }
        g
    }

    #[test]
    fn deepest_path_follows_the_heaviest_branch() {
        // 0 calls 1 (at depth 16) and 2 (at 48); 1 calls 3.
        let g = graph(&[64, 100, 10, 1000], &[(0, 1, 24), (0, 2, 56), (1, 3, 108)]);
        let mut d = Deepest::new(&g);
        assert_eq!(d.from(0), (24 + 108 + 1000, vec![0, 1, 3]));
        assert_eq!(d.from(2), (10, vec![2]));
        assert!(d.cycles.is_empty());
    }

    #[test]
    fn a_cycle_is_cut_and_reported() {
        let g = graph(&[8, 16, 32], &[(0, 1, 8), (1, 2, 8), (2, 1, 8)]);
        let mut d = Deepest::new(&g);
        let (depth, path) = d.from(0);
        assert_eq!(path, vec![0, 1, 2]);
        assert_eq!(depth, 8 + 8 + 32);
        assert_eq!(d.cycles, vec![vec![1, 2]]);
        assert!(reachable(&g, 0).iter().all(|&r| r));
        assert_eq!(reachable(&g, 2), vec![false, true, true]);
    }

    #[test]
    fn self_recursion_and_a_long_chain() {
        let g = graph(&[8], &[(0, 0, 8)]);
        let mut d = Deepest::new(&g);
        assert_eq!(d.from(0).0, 8);
        assert_eq!(d.cycles, vec![vec![0]]);
        let n = 5000;
        let chain: Vec<(usize, usize, u64)> = (0..n - 1).map(|i| (i, i + 1, 8)).collect();
        let g = graph(&vec![8; n], &chain);
        let mut d = Deepest::new(&g);
        let (depth, path) = d.from(0);
        assert_eq!(path.len(), n);
        assert_eq!(depth, 8 * n as u64);
    }
}
