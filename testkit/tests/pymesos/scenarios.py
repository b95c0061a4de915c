#!/usr/bin/env python3
"""pymesos 0.3.15, unmodified, against corral's standalone mock master.

Each scenario starts its own `mock-master` (the binary named by --master-bin)
on a free loopback port, drives it through pymesos's MesosSchedulerDriver
over the Mesos v1 scheduler HTTP API (JSON, RecordIO), and checks what the
client saw:

  two_roles        SUBSCRIBE with roles a and b (MULTI_ROLE): offers for both
                   roles, allocation_info set; a launch runs to TASK_FINISHED;
                   an update left unacknowledged is sent again with the same
                   uuid, and once acknowledged (202) is not sent again.
  kill_grace       a task whose KillPolicy grace period is 1 s (and which
                   would take 60 s to stop by itself): KILL gives TASK_KILLING
                   at once and TASK_KILLED when the grace period ends.
  decline_filter   DECLINE with refuse_seconds 0.2 is offered again soon;
                   with refuse_seconds 3 not before 3 s have passed.
  master_restart   the master is stopped and started again on the same port:
                   pymesos reconnects, resubscribes with its framework id
                   (reregistered) and launches again.
  standby_307      pymesos is given a standby master (`--standby-of`): it
                   follows the 307 (`Location: //leader/api/v1/scheduler`)
                   and subscribes to the leader.

Exit status 0 when every scenario passed. Usage:

  scenarios.py --master-bin target/debug/mock-master [SCENARIO...]
"""

import argparse
import http.client
import json
import logging
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time

from pymesos import MesosSchedulerDriver, Scheduler

# pymesos's reconnection backoff is randomised: fixed for repeatable runs.
random.seed(0)

LOG = logging.getLogger("scenarios")
WAIT = 10.0  # the longest any single expectation waits, in seconds


class Failed(Exception):
    """A scenario's expectation was not met."""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Master:
    """One mock-master process on a loopback port."""

    def __init__(self, binary, port, *flags, log_dir):
        self.binary = binary
        self.port = port
        self.flags = list(flags)
        self.log_path = os.path.join(log_dir, "master-%d.log" % port)
        self.proc = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--listen", self.address] + self.flags,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failed("mock-master exited with %s (log: %s)" % (self.proc.returncode, self.log_path))
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise Failed("mock-master on %s did not answer /health" % self.address)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Recorder(Scheduler):
    """Records every callback as (monotonic time, kind, payload) and lets
    the scenario wait for one; `on_offers` / `on_update` hooks answer on
    pymesos's thread."""

    def __init__(self, on_offers=None, on_update=None):
        self.events = []
        self.cond = threading.Condition()
        self.on_offers = on_offers
        self.on_update = on_update
        self.errors = []

    def _record(self, kind, payload):
        with self.cond:
            self.events.append((time.monotonic(), kind, payload))
            self.cond.notify_all()

    def wait_for(self, what, predicate, timeout=WAIT, since=0):
        """The first recorded event from index `since` on that satisfies
        `predicate(kind, payload)`; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, kind, payload in self.events[since:]:
                    if predicate(kind, payload):
                        return at, payload
                if self.errors:
                    raise Failed("while waiting for %s: %s" % (what, self.errors[0]))
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [k for _, k, _ in self.events]
                    raise Failed("no %s within %.0f s (seen: %s)" % (what, timeout, kinds))
                self.cond.wait(left)

    def wait_nth(self, what, predicate, n, timeout=WAIT):
        """The time and payload of the `n`th (from 1) recorded event that
        satisfies `predicate(kind, payload)`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                matches = [(at, p) for at, k, p in self.events if predicate(k, p)]
                if len(matches) >= n:
                    return matches[n - 1]
                if self.errors:
                    raise Failed("while waiting for %s: %s" % (what, self.errors[0]))
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [k for _, k, _ in self.events]
                    raise Failed("no %s within %.0f s (seen: %s)" % (what, timeout, kinds))
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.events)

    def _guard(self, hook, *args):
        if hook is None:
            return
        try:
            hook(*args)
        except Exception as err:  # recorded, the scenario fails on it
            LOG.exception("scenario hook failed")
            with self.cond:
                self.errors.append(repr(err))
                self.cond.notify_all()

    def registered(self, driver, framework_id, master_info):
        self._record("registered", (framework_id["value"], dict(master_info)))

    def reregistered(self, driver, master_info):
        self._record("reregistered", dict(master_info))

    def disconnected(self, driver):
        self._record("disconnected", None)

    def resourceOffers(self, driver, offers):
        for offer in offers:
            self._record("offer", offer)
        self._guard(self.on_offers, driver, offers)

    def statusUpdate(self, driver, status):
        self._record("update", status)
        self._guard(self.on_update, driver, status)

    def error(self, driver, message):
        self._record("error", message)


def framework(name, roles):
    return dict(
        user="nobody",
        name=name,
        roles=list(roles),
        capabilities=[dict(type="MULTI_ROLE"), dict(type="TASK_KILLING_STATE")],
    )


def task(name, offer, cpus, mem, command, labels=(), kill_grace_ns=None):
    """A TaskInfo in Mesos JSON on `offer`, its resources allocated to the
    offer's role (as a MULTI_ROLE framework must)."""
    role = offer["allocation_info"]["role"]

    def scalar(resource, value):
        return dict(
            name=resource,
            type="SCALAR",
            scalar=dict(value=value),
            allocation_info=dict(role=role),
        )

    info = dict(
        name=name,
        task_id=dict(value=name),
        agent_id=offer["agent_id"],
        resources=[scalar("cpus", cpus), scalar("mem", mem)],
        command=dict(shell=True, value=command),
    )
    if labels:
        info["labels"] = dict(labels=[dict(key=k, value=v) for k, v in labels])
    if kill_grace_ns is not None:
        info["kill_policy"] = dict(grace_period=dict(nanoseconds=kill_grace_ns))
    return info


def state_of(name, state):
    return lambda kind, s: kind == "update" and s["task_id"]["value"] == name and s["state"] == state


def offer_for_role(role):
    return lambda kind, o: kind == "offer" and o.get("allocation_info", {}).get("role") == role


class Driver:
    """A started pymesos driver, stopped (TEARDOWN) on exit."""

    def __init__(self, recorder, info, master, **kwargs):
        self.driver = MesosSchedulerDriver(recorder, info, master, **kwargs)

    def __enter__(self):
        self.driver.start()
        return self.driver

    def __exit__(self, *exc):
        self.driver.stop()
        self.driver.join()


def two_roles(binary, log_dir):
    master = Master(binary, free_port(), "--agents", "2", "--status-update-retry", "300ms", log_dir=log_dir).start()
    try:
        held = {}
        skipped = set()

        def hold(driver, offers):
            for offer in offers:
                held.setdefault(offer["allocation_info"]["role"], offer)

        def ack_all_but_the_first(driver, status):
            # The first update (by uuid) is left unacknowledged once.
            uuid = status.get("uuid")
            if uuid is None:
                return
            if not skipped:
                skipped.add(uuid)
                return
            driver.acknowledgeStatusUpdate(status)

        rec = Recorder(on_offers=hold, on_update=ack_all_but_the_first)
        with Driver(rec, framework("two-roles", ["a", "b"]), master.address, implicit_acknowledgements=False) as driver:
            rec.wait_for("SUBSCRIBED", lambda k, _: k == "registered")
            _, offer_a = rec.wait_for("an offer for role a", offer_for_role("a"))
            _, offer_b = rec.wait_for("an offer for role b", offer_for_role("b"))
            for offer in (offer_a, offer_b):
                for resource in offer["resources"]:
                    if resource.get("allocation_info", {}).get("role") != offer["allocation_info"]["role"]:
                        raise Failed("a resource of %s lacks its allocation_info" % offer["id"]["value"])
            driver.launchTasks(offer_b["id"], [task("t1", offer_b, 0.5, 64, "sleep 1")])
            rec.wait_for("an update of t1", lambda k, s: k == "update" and s.get("uuid"))
            first = next(iter(skipped))
            same = lambda k, s: k == "update" and s.get("uuid") == first
            # Unacknowledged: sent again (300 ms later) with the same uuid,
            # and this time acknowledged (by the hook).
            rec.wait_nth("the unacknowledged update sent again", same, 2)
            rec.wait_for("TASK_FINISHED of t1", state_of("t1", "TASK_FINISHED"))
            copies = lambda: [s for _, k, s in rec.events if same(k, s)]
            # Acknowledged: no copy after a window covering two more resends.
            count = len(copies())
            time.sleep(1.0)
            if len(copies()) != count:
                raise Failed("an acknowledged update was sent again")
            others = {}
            for _, k, s in rec.events:
                if k == "update" and s.get("uuid") != first:
                    others[s["uuid"]] = others.get(s["uuid"], 0) + 1
            if not others or any(n != 1 for n in others.values()):
                raise Failed("acknowledged updates were sent more than once: %s" % others)
            states = [s["state"] for _, k, s in rec.events if k == "update"]
            LOG.info("two_roles: updates %s", states)
    finally:
        master.stop()


def kill_grace(binary, log_dir):
    master = Master(binary, free_port(), "--agents", "1", log_dir=log_dir).start()
    try:
        rec = Recorder()
        with Driver(rec, framework("kill-grace", ["a"]), master.address) as driver:
            _, offer = rec.wait_for("an offer", offer_for_role("a"))
            doomed = task(
                "t2",
                offer,
                0.5,
                64,
                "until false; do sleep 1; done",
                labels=[("corral.sim/cleanup", "60000")],
                kill_grace_ns=1_000_000_000,
            )
            driver.launchTasks(offer["id"], [doomed])
            rec.wait_for("TASK_RUNNING of t2", state_of("t2", "TASK_RUNNING"))
            asked = time.monotonic()
            driver.killTask(dict(value="t2"))
            killing, _ = rec.wait_for("TASK_KILLING of t2", state_of("t2", "TASK_KILLING"))
            killed, _ = rec.wait_for("TASK_KILLED of t2", state_of("t2", "TASK_KILLED"))
            if killing - asked > 0.8:
                raise Failed("TASK_KILLING came %.2f s after the KILL" % (killing - asked))
            if not 0.9 <= killed - asked <= 5.0:
                raise Failed("TASK_KILLED came %.2f s after the KILL, not after the 1 s grace" % (killed - asked))
            LOG.info("kill_grace: KILLING after %.2f s, KILLED after %.2f s", killing - asked, killed - asked)
    finally:
        master.stop()


def decline_filter(binary, log_dir):
    master = Master(binary, free_port(), "--agents", "1", log_dir=log_dir).start()
    try:
        declines = []  # (time, refuse_seconds), one per offer declined

        def decline(driver, offers):
            refuse = 0.2 if not declines else 3.0
            for offer in offers:
                declines.append((time.monotonic(), refuse))
                driver.declineOffer(offer["id"], dict(refuse_seconds=refuse))

        rec = Recorder(on_offers=decline)
        with Driver(rec, framework("decline-filter", ["a"]), master.address):
            offer = lambda k, _: k == "offer"
            rec.wait_nth("a first offer", offer, 1)
            second, _ = rec.wait_nth("a second offer", offer, 2)
            soon = second - declines[0][0]
            if soon > 2.0:
                raise Failed("re-offered %.2f s after a 0.2 s filter" % soon)
            third, _ = rec.wait_nth("a third offer", offer, 3)
            waited = third - declines[1][0]
            if waited < 2.9:
                raise Failed("re-offered %.2f s after a 3 s filter" % waited)
            LOG.info("decline_filter: re-offered after %.2f s (0.2 s filter), %.2f s (3 s filter)", soon, waited)
    finally:
        master.stop()


def master_restart(binary, log_dir):
    port = free_port()
    master = Master(binary, port, "--agents", "1", log_dir=log_dir).start()
    try:
        rec = Recorder()
        with Driver(rec, framework("restart", ["a"]), master.address) as driver:
            _, (framework_id, _) = rec.wait_for("SUBSCRIBED", lambda k, _: k == "registered")
            rec.wait_for("an offer", offer_for_role("a"))
            master.stop()
            rec.wait_for("the disconnection", lambda k, _: k == "disconnected")
            since = rec.mark()
            master.start()
            rec.wait_for("reregistered", lambda k, _: k == "reregistered", since=since, timeout=20)
            if driver.framework_id != framework_id:
                raise Failed("resubscribed as %s, not %s" % (driver.framework_id, framework_id))
            _, offer = rec.wait_for("an offer after the restart", offer_for_role("a"), since=since)
            driver.launchTasks(offer["id"], [task("t3", offer, 0.5, 64, "sleep 0.5")])
            rec.wait_for("TASK_FINISHED of t3", state_of("t3", "TASK_FINISHED"))
            LOG.info("master_restart: resubscribed as %s and ran t3", framework_id)
    finally:
        master.stop()


def standby_307(binary, log_dir):
    leader = Master(binary, free_port(), "--agents", "1", log_dir=log_dir).start()
    standby = Master(binary, free_port(), "--standby-of", leader.address, log_dir=log_dir).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", standby.port, timeout=5)
        conn.request("POST", "/api/v1/scheduler", body=b"{}", headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        location = response.getheader("Location")
        conn.close()
        if response.status != 307 or location != "//%s/api/v1/scheduler" % leader.address:
            raise Failed("the standby answered %s, Location %r" % (response.status, location))
        rec = Recorder()
        with Driver(rec, framework("redirected", ["a"]), standby.address) as driver:
            _, (_, info) = rec.wait_for("SUBSCRIBED", lambda k, _: k == "registered")
            if info["port"] != leader.port:
                raise Failed("subscribed to port %s, not the leader's %s" % (info["port"], leader.port))
            _, offer = rec.wait_for("an offer from the leader", offer_for_role("a"))
            driver.launchTasks(offer["id"], [task("t4", offer, 0.5, 64, "sleep 0.2")])
            rec.wait_for("TASK_FINISHED of t4", state_of("t4", "TASK_FINISHED"))
            LOG.info("standby_307: redirected from %s to %s", standby.address, leader.address)
    finally:
        standby.stop()
        leader.stop()


SCENARIOS = {
    "two_roles": two_roles,
    "kill_grace": kill_grace,
    "decline_filter": decline_filter,
    "master_restart": master_restart,
    "standby_307": standby_307,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--master-bin", required=True)
    parser.add_argument("--log-dir", default=None)
    parser.add_argument("scenarios", nargs="*", choices=[[]] + list(SCENARIOS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log_dir = args.log_dir or os.environ.get("TMPDIR", "/tmp")
    failed = []
    for name in args.scenarios or list(SCENARIOS):
        started = time.monotonic()
        try:
            SCENARIOS[name](args.master_bin, log_dir)
            print("pymesos scenario %s: ok (%.1f s)" % (name, time.monotonic() - started), flush=True)
        except Exception as err:
            failed.append(name)
            print("pymesos scenario %s: FAILED: %s" % (name, err), flush=True)
    if failed:
        print("failed: %s (master logs in %s)" % (", ".join(failed), log_dir), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
