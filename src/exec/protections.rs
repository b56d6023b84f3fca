//! Which protections this machine gives command handlers, found out once per process.
//!
//! Containment uses the strongest mechanism the kernel and tai's privileges allow and falls
//! back where one is missing; [`protections`] says which is in force, so the front doors can
//! print the shortfalls once at start-up and `tai doctor` can list everything. Nothing here
//! is ever weakened without appearing in that report.
//!
//! Two environment variables steer it:
//! - `TAI_HANDLER_USER`: the user handlers run as when tai runs as root (a name from
//!   `/etc/passwd`, or `UID` / `UID:GID`); `nobody` by default;
//! - `TAI_CGROUPS=off`: use no cgroups even where they are available, so handlers are
//!   contained by the subreaper fallback and the CPU-time watchdog (for tests, and for
//!   hosts whose cgroups are managed by something else).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;

use super::cgroup::CgroupSupport;

/// The user handlers run as when tai runs as root and nothing else is configured.
pub const DEFAULT_HANDLER_USER: &str = "nobody";

/// What the machine offers, as detected once.
#[derive(Debug, Clone)]
pub(super) struct Machine {
    /// The cgroup v2 directory per-action cgroups are created in, when usable.
    pub(super) cgroup: Option<CgroupSupport>,
    /// Why there is no usable cgroup, when there is none.
    pub(super) cgroup_missing: String,
    /// The cgroup v1 `cpu` directory per-action CPU quotas are created in, when usable.
    pub(super) cpu_v1: Option<PathBuf>,
    /// The kernel's Landlock ABI version, when Landlock is enabled.
    pub(super) landlock_abi: Option<i32>,
    /// Who handlers run as.
    pub(super) user: HandlerUser,
    /// Whether each action can get IPC objects of its own (`unshare(CLONE_NEWIPC)` needs
    /// `CAP_SYS_ADMIN`, which a root tai has outside a restricted container).
    pub(super) ipc_namespace: bool,
}

/// Who command handlers run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HandlerUser {
    /// tai is root: handlers switch to this user and its primary group, with no other groups.
    Drop { name: String, uid: u32, gid: u32 },
    /// tai is root but the configured user does not exist: handlers are refused.
    Unknown { name: String },
    /// tai is not root: handlers run as tai's own user, which has nothing to drop.
    Unprivileged { uid: u32 },
}

/// The machine's protections, detected on first use.
pub(super) fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(detect)
}

fn detect() -> Machine {
    let cgroups_off = std::env::var("TAI_CGROUPS").is_ok_and(|v| v.eq_ignore_ascii_case("off"));
    let (cgroup, cgroup_missing) = if cgroups_off {
        (None, "turned off by TAI_CGROUPS=off".to_owned())
    } else {
        match cgroup_v2() {
            Ok(support) => (Some(support), String::new()),
            Err(why) => (None, why),
        }
    };
    let cpu_v1 = if cgroups_off || cgroup.as_ref().is_some_and(|c| c.cpu_max) {
        None
    } else {
        cpu_v1()
    };
    Machine {
        cgroup,
        cgroup_missing,
        cpu_v1,
        landlock_abi: super::process::landlock_abi(),
        user: handler_user(),
        ipc_namespace: has_sys_admin(),
    }
}

/// Our own cgroup v2 directory, if tai may create cgroups in it.
fn cgroup_v2() -> Result<CgroupSupport, String> {
    let mount = mounts()
        .into_iter()
        .find(|m| m.fstype == "cgroup2")
        .ok_or("no cgroup v2 hierarchy is mounted")?;
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("this process is in no cgroup v2")?;
    let dir = under(&mount.point, path);
    let probe = probe_dir(&dir).map_err(|e| {
        format!(
            "cannot create cgroups in {} ({e}); run tai in a delegated cgroup to use them",
            dir.display()
        )
    })?;
    let kill_file = probe.join("cgroup.kill").exists();
    let freeze = probe.join("cgroup.freeze").exists();
    let cpu_max = probe.join("cpu.max").exists();
    let _ = std::fs::remove_dir(&probe);
    // What killed tai processes left running is killed before anything else runs here.
    super::stale::sweep(&dir, kill_file);
    if !kill_file && !freeze {
        return Err("the cgroup v2 hierarchy has neither cgroup.kill nor cgroup.freeze".into());
    }
    Ok(CgroupSupport {
        dir,
        kill_file,
        cpu_max,
    })
}

/// Our own cgroup v1 `cpu` directory, if tai may create cgroups with CPU quotas in it.
fn cpu_v1() -> Option<PathBuf> {
    let mount = mounts()
        .into_iter()
        .find(|m| m.fstype == "cgroup" && m.options.split(',').any(|o| o == "cpu"))?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == "cpu").then_some(path)
    })?;
    let dir = under(&mount.point, path);
    let probe = probe_dir(&dir).ok()?;
    let usable = probe.join("cpu.cfs_quota_us").exists();
    let _ = std::fs::remove_dir(&probe);
    // The v1 sibling of an action's group holds the same processes; emptied all the same.
    super::stale::sweep(&dir, false);
    usable.then_some(dir)
}

/// The cgroup at `path` (as `/proc/self/cgroup` writes it) in the hierarchy mounted at `mount`.
fn under(mount: &Path, path: &str) -> PathBuf {
    match path.trim_start_matches('/') {
        "" => mount.to_owned(),
        rel => mount.join(rel),
    }
}

/// Creates a uniquely named child of `dir`, to be removed by the caller.
fn probe_dir(dir: &Path) -> std::io::Result<PathBuf> {
    let pid = std::process::id();
    let probe = match super::procfs::own_identity() {
        Some((_, start)) => dir.join(format!("tai-probe-{pid}-{start}")),
        None => dir.join(format!("tai-probe-{pid}")),
    };
    match std::fs::create_dir(&probe) {
        Ok(()) => Ok(probe),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(probe),
        Err(e) => Err(e),
    }
}

struct Mount {
    point: PathBuf,
    fstype: String,
    options: String,
}

/// The mounts of this process's mount namespace, from `/proc/self/mountinfo`.
fn mounts() -> Vec<Mount> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            // `id parent dev root point options [optional fields…] - fstype source superopts`
            let (left, right) = line.split_once(" - ")?;
            let point = left.split(' ').nth(4)?;
            let mut right = right.split(' ');
            let fstype = right.next()?.to_owned();
            let options = right.nth(1).unwrap_or_default().to_owned();
            Some(Mount {
                point: PathBuf::from(unescape_octal(point)),
                fstype,
                options,
            })
        })
        .collect()
}

/// Undoes mountinfo's `\040`-style escapes of spaces, tabs, newlines and backslashes.
fn unescape_octal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn handler_user() -> HandlerUser {
    let euid = rustix::process::geteuid().as_raw();
    if euid != 0 {
        return HandlerUser::Unprivileged { uid: euid };
    }
    let name = std::env::var("TAI_HANDLER_USER")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_HANDLER_USER.to_owned());
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    match lookup_user(&name, &passwd) {
        Some((uid, gid)) => HandlerUser::Drop { name, uid, gid },
        None => HandlerUser::Unknown { name },
    }
}

/// The uid and primary gid of `user` (a name, `UID` or `UID:GID`) in `passwd`.
fn lookup_user(user: &str, passwd: &str) -> Option<(u32, u32)> {
    let entry = |pred: &dyn Fn(&[&str]) -> bool| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && pred(&f)).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
    };
    if let Some((uid, gid)) = user.split_once(':') {
        return Some((uid.parse().ok()?, gid.parse().ok()?));
    }
    if let Ok(uid) = user.parse::<u32>() {
        // A bare uid takes the primary group of its passwd entry, else the same number.
        return Some(entry(&|f| f[2] == user).unwrap_or((uid, uid)));
    }
    entry(&|f| f[0] == user)
}

/// How well one protection is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The intended mechanism is in force.
    Active,
    /// A weaker mechanism stands in for a missing one.
    Fallback,
    /// Nothing enforces it on this machine.
    Missing,
}

impl Status {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Fallback => "fallback",
            Status::Missing => "missing",
        }
    }
}

/// One protection of command handlers and what enforces it here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protection {
    /// Stable key, e.g. `descendants`.
    pub name: &'static str,
    /// Whether it is in force.
    pub status: Status,
    /// What enforces it, e.g. `cgroup v2 cgroup.kill`.
    pub mechanism: String,
    /// Where, or why it is weaker.
    pub detail: String,
}

/// Every protection of command handlers on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protections {
    /// In a fixed order.
    pub protections: Vec<Protection>,
}

impl Protections {
    /// The protections that are weaker than intended, for a start-up notice.
    pub fn shortfalls(&self) -> impl Iterator<Item = &Protection> {
        self.protections
            .iter()
            .filter(|p| p.status != Status::Active)
    }
}

/// Which protections command handlers get on this machine.
pub fn protections() -> Protections {
    report(machine())
}

fn report(m: &Machine) -> Protections {
    let item = |name, status, mechanism: &str, detail: String| Protection {
        name,
        status,
        mechanism: mechanism.to_owned(),
        detail,
    };
    let descendants = match &m.cgroup {
        Some(c) if c.kill_file => item(
            "descendants",
            Status::Active,
            "cgroup v2 cgroup.kill",
            format!("one cgroup per action under {}", c.dir.display()),
        ),
        Some(c) => item(
            "descendants",
            Status::Active,
            "cgroup v2 freeze + kill",
            format!("one cgroup per action under {}", c.dir.display()),
        ),
        None => item(
            "descendants",
            Status::Fallback,
            "child subreaper",
            format!(
                "no cgroup: {}; tai adopts and sweeps every descendant, but cannot tell \
                 concurrent actions' escaped processes apart",
                m.cgroup_missing
            ),
        ),
    };
    let filesystem = match m.landlock_abi {
        Some(abi) => item(
            "filesystem",
            Status::Active,
            &format!("landlock ABI {abi}"),
            if abi >= 6 {
                "base system read-only, a scratch directory and declared paths; signals and \
                 abstract sockets scoped to the action"
                    .to_owned()
            } else {
                "base system read-only, a scratch directory and declared paths; signals are \
                 not scoped (Landlock ABI 6 needed)"
                    .to_owned()
            },
        ),
        None => item(
            "filesystem",
            Status::Missing,
            "none",
            "the kernel has no Landlock: handlers can read and write whatever their user can"
                .to_owned(),
        ),
    };
    let user = match &m.user {
        HandlerUser::Drop { name, uid, gid } if *uid != 0 => item(
            "user",
            Status::Active,
            &format!("drop to {name}"),
            format!("uid {uid}, gid {gid}, no supplementary groups"),
        ),
        HandlerUser::Drop { name, .. } => item(
            "user",
            Status::Missing,
            "none",
            format!("TAI_HANDLER_USER names `{name}`, which is root: handlers run as root"),
        ),
        HandlerUser::Unknown { name } => item(
            "user",
            Status::Missing,
            "none",
            format!(
                "tai runs as root and user `{name}` does not exist: command handlers are refused \
                 (set TAI_HANDLER_USER)"
            ),
        ),
        HandlerUser::Unprivileged { uid } => item(
            "user",
            Status::Active,
            "unprivileged",
            format!("tai is not root: handlers run as its own uid {uid}"),
        ),
    };
    let cpu = match (&m.cgroup, &m.cpu_v1) {
        (Some(c), _) if c.cpu_max => item(
            "cpu_limit",
            Status::Active,
            "cgroup v2 cpu.max",
            format!("under {}", c.dir.display()),
        ),
        (_, Some(dir)) => item(
            "cpu_limit",
            Status::Active,
            "cgroup v1 cpu.cfs_quota_us",
            format!("under {}", dir.display()),
        ),
        _ => item(
            "cpu_limit",
            Status::Fallback,
            "CPU-time watchdog",
            "no usable cpu controller: the action is paused whenever its CPU time runs ahead \
             of its share"
                .to_owned(),
        ),
    };
    let ipc = if m.ipc_namespace {
        item(
            "ipc",
            Status::Active,
            "IPC namespace per action",
            "SysV shared memory and message queues are the action's own, capped at its memory \
             limit, and gone when it ends"
                .to_owned(),
        )
    } else {
        item(
            "ipc",
            Status::Missing,
            "none",
            "no CAP_SYS_ADMIN for an IPC namespace: SysV shared memory a handler makes is \
             counted by no limit and outlives the action until removed"
                .to_owned(),
        )
    };
    Protections {
        protections: vec![
            descendants,
            filesystem,
            item(
                "no_new_privs",
                Status::Active,
                "prctl(PR_SET_NO_NEW_PRIVS)",
                "set-uid programs and file capabilities grant nothing".to_owned(),
            ),
            user,
            cpu,
            item(
                "rlimits",
                Status::Active,
                "RLIMIT_AS",
                "each process's address space capped at the memory limit; resident memory \
                 of all the action's processes watched against it"
                    .to_owned(),
            ),
            item(
                "output_caps",
                Status::Active,
                "stdout and stderr",
                "exceeding either ends the action at once".to_owned(),
            ),
            ipc,
        ],
    }
}

/// Whether this process holds `CAP_SYS_ADMIN` (bit 21 of `CapEff` in `/proc/self/status`).
fn has_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
    })
}

/// Sweeps the groups of gone tai processes on this machine and says what was found of
/// `action`'s, by this sweep or an earlier one in this process (the first use of the
/// machine's protections sweeps too).
pub(super) fn clean_up_after(action: &str) -> super::Leftovers {
    let machine = machine();
    let searched = machine.cgroup.is_some() || machine.cpu_v1.is_some();
    if let Some(support) = &machine.cgroup {
        super::stale::sweep(&support.dir, support.kill_file);
    }
    if let Some(cpu_v1) = &machine.cpu_v1 {
        super::stale::sweep(cpu_v1, false);
    }
    super::stale::leftovers(action, searched)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                          svc:x:1001:1002::/home/svc:/bin/sh\n";

    #[test]
    fn users_are_found_by_name_or_number() {
        assert_eq!(lookup_user("nobody", PASSWD), Some((65534, 65534)));
        assert_eq!(lookup_user("svc", PASSWD), Some((1001, 1002)));
        assert_eq!(lookup_user("1001", PASSWD), Some((1001, 1002)));
        assert_eq!(lookup_user("4242", PASSWD), Some((4242, 4242)));
        assert_eq!(lookup_user("7:8", PASSWD), Some((7, 8)));
        assert_eq!(lookup_user("ghost", PASSWD), None);
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape_octal(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape_octal(r"/x\y"), r"/x\y");
    }

    #[test]
    fn a_machine_without_mechanisms_reports_each_shortfall() {
        let bare = Machine {
            cgroup: None,
            cgroup_missing: "no cgroup v2 hierarchy is mounted".into(),
            cpu_v1: None,
            landlock_abi: None,
            user: HandlerUser::Unknown {
                name: "nobody".into(),
            },
            ipc_namespace: false,
        };
        let report = report(&bare);
        let short: Vec<(&str, Status)> = report.shortfalls().map(|p| (p.name, p.status)).collect();
        assert_eq!(
            short,
            [
                ("descendants", Status::Fallback),
                ("filesystem", Status::Missing),
                ("user", Status::Missing),
                ("cpu_limit", Status::Fallback),
                ("ipc", Status::Missing),
            ]
        );
    }
}
