//! The tree's pure rules: which kind may sit under which, and the counts of a subtree.

use super::store::{Org, TreeNode};

crate::choice! {
    /// 党组织类型: 党委 / 党总支 / 党支部 / 党小组.
    pub enum OrgKind {
        CommitteeOrg = "committee_org", "党委", ["基层党委"];
        GeneralBranch = "general_branch", "党总支", ["总支"];
        Branch = "branch", "党支部", ["支部", "联合党支部"];
        Group = "group", "党小组", ["小组"];
    }
}

/// Pure: depth-first order with subtree member counts.
pub fn flatten(orgs: &[Org], counts: &[(i64, Option<i64>, i64, i64)]) -> Vec<TreeNode> {
    use std::collections::{HashMap, HashSet};
    let ids: HashSet<i64> = orgs.iter().map(|o| o.org_id).collect();
    let mut children: HashMap<Option<i64>, Vec<&Org>> = HashMap::new();
    for o in orgs {
        // A parent outside the visible set makes the org a root here.
        let p = o.parent_id.filter(|p| ids.contains(p));
        children.entry(p).or_default().push(o);
    }
    let mut own: HashMap<i64, (i64, i64)> = HashMap::new();
    for (branch, group, n, full) in counts {
        let e = own.entry(*branch).or_default();
        e.0 += n;
        e.1 += full;
        if let Some(g) = group {
            let e = own.entry(*g).or_default();
            e.0 += n;
            e.1 += full;
        }
    }
    let today = crate::text::format_date(crate::clock::today());
    let mut out = Vec::new();
    fn walk(
        o: &Org,
        depth: usize,
        children: &HashMap<Option<i64>, Vec<&Org>>,
        own: &HashMap<i64, (i64, i64)>,
        today: &str,
        out: &mut Vec<TreeNode>,
    ) -> (i64, i64) {
        let idx = out.len();
        out.push(TreeNode {
            org_id: o.org_id,
            unit_id: o.unit_id,
            parent_id: o.parent_id,
            kind: o.kind,
            kind_label: o.kind.label().to_string(),
            name: o.name.clone(),
            depth,
            members: 0,
            full_members: 0,
            term_end: o.term_end.clone(),
            term_overdue: o.term_end.as_deref().is_some_and(|e| e < today),
        });
        // Groups are inside a branch whose count already includes their members.
        let (mut n, mut f) = own.get(&o.org_id).copied().unwrap_or_default();
        for c in children
            .get(&Some(o.org_id))
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let (cn, cf) = walk(c, depth + 1, children, own, today, out);
            if c.kind != OrgKind::Group {
                n += cn;
                f += cf;
            }
        }
        out[idx].members = n;
        out[idx].full_members = f;
        (n, f)
    }
    for root in children.get(&None).map(Vec::as_slice).unwrap_or_default() {
        walk(root, 0, &children, &own, &today, &mut out);
    }
    out
}

/// Pure: may an org of `kind` sit under a parent of `parent_kind`?
pub fn parent_allowed(kind: OrgKind, parent_kind: Option<OrgKind>) -> bool {
    use OrgKind::*;
    matches!(
        (kind, parent_kind),
        (CommitteeOrg, None)
            | (GeneralBranch, None | Some(CommitteeOrg))
            | (Branch, None | Some(CommitteeOrg) | Some(GeneralBranch))
            | (Group, Some(Branch))
    )
}

/// Pure: the node and everything under it in a flattened tree.
pub fn subtree_of(tree: &[TreeNode], id: i64) -> Vec<TreeNode> {
    let Some(start) = tree.iter().position(|n| n.org_id == id) else {
        return Vec::new();
    };
    let depth = tree[start].depth;
    let mut out = vec![tree[start].clone()];
    out.extend(
        tree[start + 1..]
            .iter()
            .take_while(|n| n.depth > depth)
            .cloned(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: i64, parent: Option<i64>, kind: &str) -> Org {
        Org {
            org_id: id,
            unit_id: 1,
            unit_name: "u".into(),
            category_name: "c".into(),
            parent_id: parent,
            kind: OrgKind::from_key(kind).expect("kind"),
            name: format!("o{id}"),
            founded_on: None,
            term_start: None,
            term_end: Some("2000-01-01".into()),
            sort_order: 0,
        }
    }

    #[test]
    fn flatten_counts_subtrees_without_double_counting_groups() {
        let orgs = vec![
            org(1, None, "committee_org"),
            org(2, Some(1), "branch"),
            org(3, Some(2), "group"),
            org(4, Some(1), "branch"),
        ];
        // branch 2: 10 members (4 in group 3), 8 full; branch 4: 5 members.
        let counts = vec![(2, None, 6, 5), (2, Some(3), 4, 3), (4, None, 5, 5)];
        let t = flatten(&orgs, &counts);
        let ids: Vec<i64> = t.iter().map(|n| n.org_id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4]);
        assert_eq!(t[0].members, 15);
        assert_eq!(t[1].members, 10);
        assert_eq!(t[1].full_members, 8);
        assert_eq!(t[2].members, 4);
        assert_eq!(t[2].depth, 2);
        assert!(t[0].term_overdue);
        assert_eq!(subtree_of(&t, 2).len(), 2);
    }

    #[test]
    fn hierarchy_rules() {
        use OrgKind::*;
        assert!(parent_allowed(Branch, None));
        assert!(parent_allowed(Branch, Some(GeneralBranch)));
        assert!(parent_allowed(Group, Some(Branch)));
        assert!(!parent_allowed(Group, None));
        assert!(!parent_allowed(CommitteeOrg, Some(Branch)));
        assert!(!parent_allowed(Branch, Some(Group)));
    }
}
