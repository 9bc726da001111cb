#!/usr/bin/env python3
"""The stack's monthly AWS bill per 1,000 customers, and the one-hour reconciliation pass of
1,000,000 customers, from the figures `make bench-scale` measures and AWS's published prices.

    python3 scripts/cost-model.py docs/figures/scale.json

Prints Markdown. docs/performance.md holds this output for the committed figures file, and a
test (tests/it/cost_model.rs) checks that it still is: change the figures, the prices or the
profile here, then paste the new output there. Standard library only.

How measured figures become Lambda time (docs/performance.md, "Cost model"): Lambda gives a
function CPU in proportion to its memory, one whole vCPU at 1,769 MB, so a 128 MB function
gets 128/1769 of one. The bench measures CPU on an unthrottled core. One invocation working on
many customers (or records) at a time, I/O overlapped, takes per customer

    t = max(W, C * 1769 / M)

where W is the bench's wall time per customer (at the stand-in's latency, its own CPU
included), C its CPU time per customer and M the memory in MB: the invocation is either
waiting on DynamoDB and the gateway, or busy on its share of a CPU. The real time lies between
that and W + C * 1769 / M (no overlap at all), which the pass's concurrency is also given
for. One directive is one request, its CPU and its waits one after the other:
t = (W - C) + C * 1769 / M.
"""

import json
import math
import sys

# ---------------------------------------------------------------------------------------------
# Prices: us-east-1, on demand, arm64, without free tiers (which a deployment of this size
# outgrows at once), in USD. Gathered on 2026-12-07 from stored copies of AWS's pages and of
# write-ups quoting them, not from the live pages below: check those before relying on a figure.
PRICES_DATE = "2026-12-07"
PRICE_SOURCES = [
    ("Lambda, arm64: $0.0000133334 per GB-s (first 7.5 billion GB-s a month), "
     "$0.20 per million requests", "https://aws.amazon.com/lambda/pricing/"),
    ("DynamoDB on demand: $0.625 per million write request units, $0.125 per million read "
     "request units, since the price cut of 1 November 2024 (half the $1.25 and $0.25 before); "
     "storage $0.25 per GB-month",
     "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    ("DynamoDB Streams: no charge for the GetRecords calls of a Lambda trigger",
     "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
     "CostOptimization_StreamsUsage.html"),
    ("IoT Core: $1.00 per million messages (5 KB each, first billion a month), $1.25 per "
     "million Device Shadow operations (1 KB each), $0.15 per million rules triggered and "
     "$0.15 per million actions executed",
     "https://aws.amazon.com/iot-core/pricing/"),
]
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1e6
DYNAMODB_WRITE_UNIT = 0.625 / 1e6
DYNAMODB_READ_UNIT = 0.125 / 1e6
DYNAMODB_GB_MONTH = 0.25
IOT_MESSAGE = 1.00 / 1e6
IOT_SHADOW_OPERATION = 1.25 / 1e6
IOT_RULE = 0.15 / 1e6
IOT_ACTION = 0.15 / 1e6

# ---------------------------------------------------------------------------------------------
# The deployment: template.yaml's functions (arm64, 128 MB), the stream's batches and window,
# the schedule.
MEMORY_MB = 128
FULL_VCPU_MB = 1769
STREAM_BATCH_SIZE = 100
STREAM_WINDOW_S = 1.0
PASSES_PER_DAY = 4  # rate(6 hours)
DAYS_PER_MONTH = 30
# A DynamoDB partition takes at most 1,000 write units a second and holds about 10 GB; a
# stream has a shard per partition.
PARTITION_WRITE_UNITS = 1000
PARTITION_GB = 10
# The busiest hour's traffic against the day's mean (evenings): what the stream must keep up
# with.
PEAK = 3

# The usage profile, per customer per day.
PROFILE = {
    "devices": 20,
    "control_directives": 10,  # "Alexa, turn on …", routines
    "report_states": 30,  # the Alexa app showing devices
    "discoveries": 0.2,  # one every five days
    "changes_per_device": 10,  # state changes the device cloud writes
}

# With the iot adapter (docs/commands.md): each state change a device reports is a message in,
# a shadow update, and the topic rule (one rule, one action: the bridge Lambda, whose write to
# the devices table is the change counted above); each command a shadow update and the delta
# message to the device. Connection minutes are the device cloud's own, with or without Alexa.
IOT_PER_CHANGE = {"messages": 1, "shadow": 1, "rules": 1, "actions": 1}
IOT_PER_COMMAND = {"messages": 1, "shadow": 1, "rules": 0, "actions": 0}

PASS_CUSTOMERS = 1_000_000
PASS_DEVICES = 20
PASS_SECONDS = 3600


def lambda_seconds_overlapped(wall_ms, cpu_ms, memory=MEMORY_MB):
    """Seconds per unit of work in an invocation that overlaps its waits: max(W, C·1769/M)."""
    return max(wall_ms, cpu_ms * FULL_VCPU_MB / min(memory, FULL_VCPU_MB)) / 1000


def lambda_seconds_serial(wall_ms, cpu_ms, memory=MEMORY_MB):
    """Seconds of one request whose CPU and waits follow each other: (W - C) + C·1769/M."""
    return (max(wall_ms - cpu_ms, 0) + cpu_ms * FULL_VCPU_MB / min(memory, FULL_VCPU_MB)) / 1000


def lambda_cost(seconds, invocations=1.0, memory=MEMORY_MB):
    return invocations * LAMBDA_REQUEST + seconds * memory / 1024 * LAMBDA_GB_SECOND


class Figures:
    def __init__(self, data):
        self.data = data
        self.item_bytes = data["itemBytes"]
        self.settings = data["settings"]

    def reconcile(self, scenario):
        return next(r for r in self.data["reconcile"] if r["scenario"] == scenario)

    def stream(self, scenario):
        return next(s for s in self.data["stream"] if s["scenario"] == scenario)

    def directive(self, prefix):
        return next(d for d in self.data["directives"] if d["name"].startswith(prefix))

    def operations(self, requests, scale=1.0):
        """Each measured operation with its request units: [(count, operation, table, read
        units, write units)], per unit of work. Reads are billed by the whole items read (a
        projection reads whole items all the same): a request's items summed, rounded up to
        4 KB, half for an eventually consistent read, at least one unit. Writes by the item's
        size, rounded up to 1 KB. A customer's Queries of the devices and view tables read
        `scale` times the items measured (their devices against the bench's)."""
        out = []
        for r in requests:
            n = r["requests"]
            if n <= 0:
                continue
            table = r["table"]
            size = self.item_bytes.get(table, 1024)
            reads = 0.0
            if r["operation"] in ("GetItem", "Query", "Scan"):
                items = r["itemsRead"] / n
                if r["operation"] == "Query" and table in ("devices", "view"):
                    items *= scale
                units = max(1, math.ceil(items * size / 4096))
                consistent = r["consistent"] / n
                reads = n * units * (consistent + (1 - consistent) / 2)
            writes = r["itemsWritten"] * max(1, math.ceil(size / 1024))
            out.append((n, r["operation"], table, reads, writes))
        return out

    def units(self, requests, scale=1.0):
        ops = self.operations(requests, scale)
        return sum(o[3] for o in ops), sum(o[4] for o in ops)


def dynamodb_cost(units):
    reads, writes = units
    return reads * DYNAMODB_READ_UNIT + writes * DYNAMODB_WRITE_UNIT


def dollars(x):
    if x >= 1000:
        return f"${x:,.0f}"
    if x >= 10:
        return f"${x:,.1f}"
    if x >= 0.1:
        return f"${x:.2f}"
    if x == 0:
        return "$0"
    return f"${x:.3f}" if x >= 0.001 else f"${x:.1e}"


def number(x):
    """A count: whole if it is one, else to 2 decimals (3 under 0.1)."""
    if abs(x - round(x)) < 0.0005:
        return f"{round(x):,}"
    return f"{x:.3f}" if x < 0.1 else f"{x:.2f}"


def shards(customers, profile, figures):
    """The devices stream's shards, one per partition of the table: a partition takes 1,000
    write units a second and holds 10 GB (an estimate of DynamoDB's own split)."""
    devices = customers * profile["devices"]
    write_units = max(1, math.ceil(figures.item_bytes["devices"] / 1024))
    peak_writes = devices * profile["changes_per_device"] * write_units / 86400 * PEAK
    gb = devices * figures.item_bytes["devices"] / 2**30
    return max(1, math.ceil(peak_writes / PARTITION_WRITE_UNITS), math.ceil(gb / PARTITION_GB))


def stream_batch_seconds(records, figures, memory=MEMORY_MB):
    """Lambda seconds of one stream invocation of `records` records, each of another customer
    (as the interleaved burst): waves of STREAM_USER_CONCURRENCY customers, each wave as long
    as the bench's, or the CPU the records need at the memory's share, whichever is longer."""
    s = figures.stream("interleaved")
    concurrency = figures.settings["customerConcurrency"]
    wave_ms = s["meanBatchMs"] / math.ceil(s["batchSize"] / concurrency)
    io_ms = math.ceil(records / concurrency) * wave_ms
    cpu_ms = s["cpuMsPerRecord"] * records * FULL_VCPU_MB / min(memory, FULL_VCPU_MB)
    return max(io_ms, cpu_ms) / 1000


def stream_rate(scenario, figures, memory=MEMORY_MB):
    """Records a second one shard's batches go through, one full batch at a time."""
    s = figures.stream(scenario)
    seconds = max(s["meanBatchMs"], s["cpuMsPerRecord"] * s["batchSize"] * FULL_VCPU_MB
                  / min(memory, FULL_VCPU_MB)) / 1000
    return s["batchSize"] / seconds


def monthly(customers, profile, figures):
    """The month's cost by component, in USD, for `customers` customers; the iot adapter's
    extra; and how the stream's traffic falls into shards and batches."""
    scale = profile["devices"] / figures.settings["devicesPerCustomer"]
    days = DAYS_PER_MONTH
    cost = {}

    # The skill: each directive one invocation, billed by the millisecond.
    def directive(prefix, per_day, query_scale=1.0):
        d = figures.directive(prefix)
        n = customers * per_day * days
        seconds = math.ceil(lambda_seconds_serial(d["warmMeanMs"], d["cpuMs"]) * 1000) / 1000
        return (lambda_cost(seconds * n, n),
                n * dynamodb_cost(figures.units(d["dynamodb"], query_scale)))

    skill = [directive("TurnOn", profile["control_directives"]),
             directive("ReportState", profile["report_states"]),
             directive("Discover", profile["discoveries"], scale)]
    cost["Lambda: skill (directives)"] = sum(s[0] for s in skill)
    cost["DynamoDB: directives"] = sum(s[1] for s in skill)

    # The stream: the device cloud's state writes, and the stream function's work per record,
    # in batches as full as the traffic of a shard makes them in the batching window.
    records = customers * profile["devices"] * profile["changes_per_device"] * days
    n_shards = shards(customers, profile, figures)
    per_shard_per_s = records / days / 86400 / n_shards
    batch = min(STREAM_BATCH_SIZE, max(1.0, per_shard_per_s * STREAM_WINDOW_S))
    invocations = records / batch
    cost["Lambda: stream (state changes)"] = lambda_cost(
        stream_batch_seconds(batch, figures) * invocations, invocations)
    device_write = max(1, math.ceil(figures.item_bytes["devices"] / 1024))
    cost["DynamoDB: the device cloud's state writes"] = records * device_write * DYNAMODB_WRITE_UNIT
    cost["DynamoDB: stream"] = records * dynamodb_cost(
        figures.units(figures.stream("interleaved")["dynamodb"], scale))

    # Reconciliation: every customer, PASSES_PER_DAY times a day, nearly always in sync; the
    # work of a customer in proportion to their devices.
    r = figures.reconcile("in-sync")
    per_customer = lambda_seconds_overlapped(r["wallMsPerCustomer"] * scale,
                                             r["cpuMsPerCustomer"] * scale)
    passes = PASSES_PER_DAY * days
    cost["Lambda: reconcile (a pass every 6 hours)"] = lambda_cost(
        per_customer * customers * passes, 0)
    cost["DynamoDB: reconciliation"] = customers * passes * dynamodb_cost(
        figures.units(r["dynamodb"], scale))

    # Storage: each device's item and its Alexa view row, each customer's grant, each with the
    # 100 bytes DynamoDB adds to every item.
    per_customer_bytes = (profile["devices"] * (figures.item_bytes["devices"]
                                                + figures.item_bytes.get("view", 0) + 200)
                          + figures.item_bytes.get("grants", 0) + 100)
    cost["DynamoDB: storage"] = customers * per_customer_bytes / 2**30 * DYNAMODB_GB_MONTH

    # The iot adapter, where used: IoT Core, and the bridge Lambda (one invocation per report,
    # taken as long as a TurnOn: a read and a write).
    commands = customers * profile["control_directives"] * days
    iot = 0.0
    for count, per in ((records, IOT_PER_CHANGE), (commands, IOT_PER_COMMAND)):
        iot += count * (per["messages"] * IOT_MESSAGE + per["shadow"] * IOT_SHADOW_OPERATION
                        + per["rules"] * IOT_RULE + per["actions"] * IOT_ACTION)
    turn_on = figures.directive("TurnOn")
    bridge_s = math.ceil(lambda_seconds_serial(turn_on["warmMeanMs"], turn_on["cpuMs"]) * 1000) / 1000
    iot += lambda_cost(bridge_s * records, records)
    return cost, iot, {"shards": n_shards, "batch": batch, "peak_per_shard": per_shard_per_s * PEAK}


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def share(part, whole):
    return f"{part / whole * 100:.0f} %"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: cost-model.py FIGURES.json")
    with open(sys.argv[1]) as f:
        figures = Figures(json.load(f))
    measured = figures.data["measured"]
    settings = figures.settings
    p = PROFILE
    out = []
    say = out.append

    say(f"Figures: `{sys.argv[1]}` (`make bench-scale` at `{measured['commit']}` on "
        f"{measured['date']}: DynamoDB stand-in {settings['dynamodbMs']} ms, gateway "
        f"{settings['gatewayMs']} ms, {settings['devicesPerCustomer']} devices per customer). "
        f"Prices: us-east-1, gathered on {PRICES_DATE} (sources below), no free tiers. Lambda: arm64, "
        f"{MEMORY_MB} MB. Usage, per customer: {p['devices']} devices; a day, "
        f"{p['control_directives']} control directives, {p['report_states']} ReportStates, "
        f"{p['discoveries']} discoveries and {p['changes_per_device']} state changes per device "
        f"({p['devices'] * p['changes_per_device']} stream records), the busiest hour {PEAK}× "
        f"the day's mean; a reconciliation pass every {24 // PASSES_PER_DAY} hours; a "
        f"{DAYS_PER_MONTH}-day month.")
    say("")

    # Request units per unit of work.
    sizes = ", ".join(f"{table} {size:,} B" for table, size in sorted(figures.item_bytes.items()))
    rows = []
    work = [
        ("a stream record (interleaved burst)", figures.stream("interleaved")["dynamodb"]),
        ("a customer, reconciliation in sync", figures.reconcile("in-sync")["dynamodb"]),
        ("a customer, reconciliation, first pass", figures.reconcile("first-pass")["dynamodb"]),
        ("TurnOn", figures.directive("TurnOn")["dynamodb"]),
        ("ReportState", figures.directive("ReportState")["dynamodb"]),
        (figures.directive("Discover")["name"], figures.directive("Discover")["dynamodb"]),
    ]
    for name, requests in work:
        ops = figures.operations(requests)
        listed = "; ".join(
            f"{number(n)} {op} {table}: "
            + ", ".join(f"{number(u)} {kind}" for u, kind in ((r, "R"), (w, "W")) if u > 0)
            for n, op, table, r, w in ops if n >= 0.05)
        rows.append((name, listed, number(sum(o[3] for o in ops)), number(sum(o[4] for o in ops))))
    say(f"**Request units per unit of work** (R: read request units, W: write request units; "
        f"mean item sizes as DynamoDB counts them, measured: {sizes}; a pass's own Scan and "
        f"markers, under 0.05 per customer, are in the totals only)")
    say("")
    say(table(["work", "DynamoDB requests (measured)", "read units", "write units"], rows))
    say("")

    # Per 1,000 customers, by component.
    cost, iot, _ = monthly(1000, p, figures)
    total = sum(cost.values())
    rows = [(name, dollars(value), share(value, total))
            for name, value in sorted(cost.items(), key=lambda kv: -kv[1])]
    rows.append(("**total, `table` adapter**", f"**{dollars(total)}**", "100 %"))
    rows.append(("with the `iot` adapter: IoT Core messages, shadow updates, rules, and the "
                 "bridge Lambda", f"+{dollars(iot)}", f"+{share(iot, total)}"))
    say("**Monthly cost per 1,000 customers**")
    say("")
    say(table(["component", "per month", "share"], rows))
    say("")

    # Growth with customers.
    def factor(per_shard, memory):
        needed = math.ceil(per_shard / stream_rate("interleaved", figures, memory))
        return str(needed) if needed <= 10 else f"{needed}: over 10"

    rows = []
    for n in (1_000, 10_000, 100_000, 1_000_000):
        cost, iot, info = monthly(n, p, figures)
        t = sum(cost.values())
        top = max(cost, key=cost.get)
        rows.append((f"{n:,}", dollars(t), dollars(t / n * 1000), dollars((t + iot) / n * 1000),
                     f"{top} ({share(cost[top], t)})", info["shards"], number(info["batch"]),
                     f"{info['peak_per_shard']:,.0f}", factor(info["peak_per_shard"], 128),
                     factor(info["peak_per_shard"], 512)))
    say(f"**With the number of customers** ({p['devices']} devices each; the stream's shards "
        f"estimated as the devices table's partitions)")
    say("")
    say(table(["customers", "per month", "per 1,000 customers", "per 1,000, `iot` adapter",
               "largest part", "stream shards", "records per stream invocation (mean)",
               "records/s per shard, busiest hour", "ParallelizationFactor at 128 MB",
               "at 512 MB"], rows))
    say("")

    # Growth with devices per customer.
    rows = []
    for devices in (5, 20, 50):
        cost, iot, _ = monthly(1000, dict(p, devices=devices), figures)
        t = sum(cost.values())
        top = max(cost, key=cost.get)
        rows.append((devices, dollars(t), dollars(t + iot), f"{top} ({share(cost[top], t)})"))
    say("**With the devices per customer** (per 1,000 customers a month)")
    say("")
    say(table(["devices", "`table` adapter", "`iot` adapter", "largest part"], rows))
    say("")

    # The one-hour pass.
    need = PASS_CUSTOMERS / PASS_SECONDS
    scale = PASS_DEVICES / settings["devicesPerCustomer"]
    scenarios = ("in-sync", "one-change", "first-pass")
    rows = []
    for scenario in scenarios:
        r = figures.reconcile(scenario)
        reads, writes = figures.units(r["dynamodb"], scale)
        rows.append((r["label"], f"{r['wallMsPerCustomer'] * scale:.2f} ms",
                     f"{r['cpuMsPerCustomer'] * scale:.2f} ms",
                     number(sum(d["requests"] for d in r["dynamodb"])),
                     number(r["gatewayRequestsPerCustomer"]),
                     f"{reads * need:,.0f} R, {writes * need:,.0f} W"))
    say(f"**A reconciliation pass over {PASS_CUSTOMERS:,} customers of {PASS_DEVICES} devices "
        f"in one hour: {need:.0f} customers a second.** Measured per customer, in one invocation "
        f"reconciling {settings['customerConcurrency']} at a time:")
    say("")
    say(table(["pass", "wall (bench)", "CPU (bench)", "DynamoDB round trips", "gateway requests",
               f"DynamoDB units a second at {need:.0f} customers/s"], rows))
    say("")
    rows = []
    for memory in (128, 256, 512, 1024, 1769):
        row = [memory]
        for scenario in scenarios:
            r = figures.reconcile(scenario)
            wall, cpu = r["wallMsPerCustomer"] * scale, r["cpuMsPerCustomer"] * scale
            rate_max = 1 / lambda_seconds_overlapped(wall, cpu, memory)
            rate_sum = 1000 / (wall + cpu * FULL_VCPU_MB / min(memory, FULL_VCPU_MB))
            pass_cost = lambda_cost(PASS_CUSTOMERS / rate_max, 0, memory)
            row.append(f"{rate_max:.0f}/s: {math.ceil(need / rate_max)} "
                       f"({math.ceil(need / rate_sum)}), {dollars(pass_cost)}")
        rows.append(row)
    say("On Lambda, per invocation: customers a second; invocations at once for the hour (in "
        "brackets, if an invocation overlapped none of its waits with CPU); the pass's Lambda cost:")
    say("")
    say(table(["memory (MB)"] + [figures.reconcile(s)["label"] for s in scenarios], rows))
    say("")

    # The stream's throughput per shard.
    rows = []
    for scenario in ("interleaved", "grouped"):
        s = figures.stream(scenario)
        for memory in (128, 256, 512, 1024):
            r = stream_rate(scenario, figures, memory)
            rows.append((s["label"], f"{s['meanBatchMs']:.0f} ms", f"{s['cpuMsPerRecord']:.3f} ms",
                         memory, f"{r:.0f}", math.ceil(PARTITION_WRITE_UNITS / r)))
    say(f"**The stream: records a second through one shard's concurrent batch** (batches of "
        f"{settings['streamBatchSize']}; a shard, one partition, takes at most "
        f"{PARTITION_WRITE_UNITS:,} writes a second, and ParallelizationFactor is at most 10)")
    say("")
    say(table(["burst", "batch (bench)", "CPU per record (bench)", "memory (MB)",
               "records/s per concurrent batch on Lambda",
               f"ParallelizationFactor for a shard at {PARTITION_WRITE_UNITS:,} records/s"], rows))
    say("")
    say("Prices: " + "; ".join(f"{what} ({url})" for what, url in PRICE_SOURCES) + ".")
    print("\n".join(out))


if __name__ == "__main__":
    main()
