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
# outgrows at once), in USD. Read on 2026-12-07 from stored copies of the pages below; check the
# live pages before relying on a figure.
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

    def reconcile(self, scenario):
        return next(r for r in self.data["reconcile"] if r["scenario"] == scenario)

    def stream(self, scenario):
        return next(s for s in self.data["stream"] if s["scenario"] == scenario)

    def directive(self, prefix):
        return next(d for d in self.data["directives"] if d["name"].startswith(prefix))

    def dynamodb_units(self, requests, scale=1.0):
        """(read units, write units) of a figure's requests, with each table's items' whole
        size (a projection reads whole items all the same), the items a Query reads scaled by
        `scale` (a customer's devices against the measured ones)."""
        reads = writes = 0.0
        for r in requests:
            table = r["table"]
            size = self.item_bytes.get(table, 1024)
            n = r["requests"]
            if n <= 0:
                continue
            if r["operation"] in ("GetItem", "Query", "Scan"):
                items = r["itemsRead"] / n
                if r["operation"] == "Query" and table in ("devices", "view"):
                    items *= scale
                whole = max(1, math.ceil(items * size / 4096))
                consistent = r["consistent"] / n
                reads += n * whole * (consistent + (1 - consistent) / 2)
            writes += r["itemsWritten"] * max(1, math.ceil(size / 1024))
        return reads, writes


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


def shards(customers, profile, figures):
    """The devices stream's shards: a partition's by throughput or by size, at least one."""
    devices = customers * profile["devices"]
    write_units = max(1, math.ceil(figures.item_bytes["devices"] / 1024))
    writes_per_s = devices * profile["changes_per_device"] * write_units / 86400
    gb = devices * figures.item_bytes["devices"] / 2**30
    return max(1, math.ceil(writes_per_s / PARTITION_WRITE_UNITS), math.ceil(gb / PARTITION_GB))


def stream_batch_seconds(records, figures):
    """Lambda seconds of one stream invocation of `records` records (each of another customer,
    as the interleaved burst): waves of the customer concurrency, or the CPU they need."""
    s = figures.stream("interleaved")
    concurrency = figures.data["settings"]["customerConcurrency"]
    batch = s["batchSize"]
    wave_ms = s["meanBatchMs"] / math.ceil(batch / concurrency)
    cpu_ms = s["cpuMsPerRecord"] * records
    io_ms = math.ceil(records / concurrency) * wave_ms
    return max(io_ms, cpu_ms * FULL_VCPU_MB / MEMORY_MB) / 1000


def monthly(customers, profile, figures):
    """The month's cost by component, in USD, for `customers` customers."""
    scale = profile["devices"] / figures.data["settings"]["devicesPerCustomer"]
    days = DAYS_PER_MONTH
    cost = {}

    # The skill: each directive one invocation.
    def directive(prefix, per_day, query_scale=1.0):
        d = figures.directive(prefix)
        n = customers * per_day * days
        seconds = math.ceil(lambda_seconds_serial(d["warmMeanMs"], d["cpuMs"]) * 1000) / 1000
        reads, writes = figures.dynamodb_units(d["dynamodb"], query_scale)
        return (lambda_cost(seconds * n, n),
                n * (reads * DYNAMODB_READ_UNIT + writes * DYNAMODB_WRITE_UNIT))

    skill = [directive("TurnOn", profile["control_directives"]),
             directive("ReportState", profile["report_states"]),
             directive("Discover", profile["discoveries"], scale)]
    cost["Lambda: skill (directives)"] = sum(s[0] for s in skill)
    cost["DynamoDB: directives"] = sum(s[1] for s in skill)

    # The stream: the device cloud's state writes, and the stream function's work per record.
    records = customers * profile["devices"] * profile["changes_per_device"] * days
    n_shards = shards(customers, profile, figures)
    per_shard_per_s = records / days / 86400 / n_shards
    batch = min(STREAM_BATCH_SIZE, max(1.0, per_shard_per_s * STREAM_WINDOW_S))
    invocations = records / batch
    cost["Lambda: stream (state changes)"] = lambda_cost(
        stream_batch_seconds(batch, figures) * invocations, invocations)
    s = figures.stream("interleaved")
    reads, writes = figures.dynamodb_units(s["dynamodb"], scale)
    device_write = max(1, math.ceil(figures.item_bytes["devices"] / 1024))
    cost["DynamoDB: the device cloud's state writes"] = records * device_write * DYNAMODB_WRITE_UNIT
    cost["DynamoDB: stream"] = records * (reads * DYNAMODB_READ_UNIT + writes * DYNAMODB_WRITE_UNIT)

    # Reconciliation: every customer, PASSES_PER_DAY times a day, nearly always in sync.
    r = figures.reconcile("in-sync")
    per_customer = lambda_seconds_overlapped(r["wallMsPerCustomer"] * scale, r["cpuMsPerCustomer"] * scale)
    passes = PASSES_PER_DAY * days
    cost["Lambda: reconcile (4 passes a day)"] = lambda_cost(per_customer * customers * passes, 0)
    reads, writes = figures.dynamodb_units(r["dynamodb"], scale)
    cost["DynamoDB: reconciliation"] = customers * passes * (
        reads * DYNAMODB_READ_UNIT + writes * DYNAMODB_WRITE_UNIT)

    # Storage: each device's item and its Alexa view row, each customer's grant.
    per_customer_bytes = profile["devices"] * (
        figures.item_bytes["devices"] + figures.item_bytes.get("view", 0)
    ) + figures.item_bytes.get("grants", 0)
    # DynamoDB adds 100 bytes of overhead to each item it stores.
    per_customer_bytes += (2 * profile["devices"] + 1) * 100
    cost["DynamoDB: storage"] = customers * per_customer_bytes / 2**30 * DYNAMODB_GB_MONTH

    # The iot adapter, where used.
    changes = records
    commands = customers * profile["control_directives"] * days
    iot = 0.0
    for count, per in ((changes, IOT_PER_CHANGE), (commands, IOT_PER_COMMAND)):
        iot += count * (per["messages"] * IOT_MESSAGE + per["shadow"] * IOT_SHADOW_OPERATION
                        + per["rules"] * IOT_RULE + per["actions"] * IOT_ACTION)
    # The bridge: one invocation per report, as long as a TurnOn (a read and a write).
    turn_on = figures.directive("TurnOn")
    bridge_s = math.ceil(lambda_seconds_serial(turn_on["warmMeanMs"], turn_on["cpuMs"]) * 1000) / 1000
    iot += lambda_cost(bridge_s * changes, changes)
    return cost, iot, {"shards": n_shards, "batch": batch, "records": records}


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: cost-model.py FIGURES.json")
    with open(sys.argv[1]) as f:
        figures = Figures(json.load(f))
    measured = figures.data["measured"]
    settings = figures.data["settings"]
    p = PROFILE
    out = []
    say = out.append

    say(f"Figures: `{sys.argv[1]}` (`make bench-scale` at `{measured['commit']}`, "
        f"{measured['date']}; DynamoDB stand-in {settings['dynamodbMs']} ms, gateway "
        f"{settings['gatewayMs']} ms). Prices: us-east-1, as published on {PRICES_DATE}. "
        f"Lambda: arm64, {MEMORY_MB} MB.")
    say("")
    say(f"Usage profile, per customer: {p['devices']} devices; a day, "
        f"{p['control_directives']} control directives, {p['report_states']} ReportStates, "
        f"{p['discoveries']} discoveries, {p['changes_per_device']} state changes per device "
        f"({p['devices'] * p['changes_per_device']} stream records); a reconciliation pass "
        f"every {24 // PASSES_PER_DAY} hours; a {DAYS_PER_MONTH}-day month.")
    say("")

    # Per 1,000 customers, by component.
    cost, iot, _ = monthly(1000, p, figures)
    total = sum(cost.values())
    rows = [(name, dollars(value), f"{value / total * 100:.0f} %")
            for name, value in sorted(cost.items(), key=lambda kv: -kv[1])]
    rows.append(("**total, `table` adapter**", f"**{dollars(total)}**", "100 %"))
    rows.append(("IoT Core and the bridge Lambda, `iot` adapter (messages, shadows, rules)",
                 dollars(iot), f"+{iot / total * 100:.0f} %"))
    say("**Monthly cost per 1,000 customers**")
    say("")
    say(table(["component", "per month", "share"], rows))
    say("")

    # Growth with customers.
    rows = []
    for n in (1_000, 10_000, 100_000, 1_000_000):
        cost, iot, info = monthly(n, p, figures)
        t = sum(cost.values())
        top = max(cost, key=cost.get)
        rows.append((f"{n:,}", dollars(t), dollars(t / n * 1000), dollars((t + iot) / n * 1000),
                     info["shards"], f"{info['batch']:.0f}", f"{top} ({cost[top] / t * 100:.0f} %)"))
    say("**With the number of customers** (20 devices each)")
    say("")
    say(table(["customers", "per month", "per 1,000 customers", "per 1,000, with `iot`",
               "stream shards (estimate)", "records per stream invocation", "largest part"], rows))
    say("")

    # Growth with devices per customer.
    rows = []
    for devices in (5, 20, 50):
        profile = dict(p, devices=devices)
        cost, iot, _ = monthly(1000, profile, figures)
        t = sum(cost.values())
        top = max(cost, key=cost.get)
        rows.append((devices, dollars(t), dollars(t + iot), f"{top} ({cost[top] / t * 100:.0f} %)"))
    say("**With the devices per customer** (per 1,000 customers a month)")
    say("")
    say(table(["devices", "`table` adapter", "with `iot`", "largest part"], rows))
    say("")

    # The one-hour pass.
    say(f"**A reconciliation pass over {PASS_CUSTOMERS:,} customers of {PASS_DEVICES} devices "
        f"in one hour**")
    say("")
    rows = []
    need = PASS_CUSTOMERS / PASS_SECONDS
    for scenario in ("in-sync", "one-change", "first-pass"):
        r = figures.reconcile(scenario)
        scale = PASS_DEVICES / settings["devicesPerCustomer"]
        wall, cpu = r["wallMsPerCustomer"] * scale, r["cpuMsPerCustomer"] * scale
        trips = sum(d["requests"] for d in r["dynamodb"])
        for memory in (128, 512, 1769):
            rate = 1 / lambda_seconds_overlapped(wall, cpu, memory)
            slow = 1000 / (wall + cpu * FULL_VCPU_MB / min(memory, FULL_VCPU_MB))
            rows.append((r["label"], f"{wall:.1f} ms", f"{cpu:.2f} ms", f"{trips:g}",
                         f"{r['gatewayRequestsPerCustomer']:g}", memory, f"{rate:.0f}",
                         math.ceil(need / rate), math.ceil(need / slow),
                         dollars(lambda_cost(PASS_CUSTOMERS / rate, 0, memory))))
    say(table(["pass", "wall per customer (bench)", "CPU per customer (bench)",
               "DynamoDB round trips per customer", "gateway requests per customer",
               "memory (MB)", "customers/s per invocation on Lambda",
               f"invocations at once for {need:.0f} customers/s",
               "the same, no overlap", "Lambda cost of the pass"], rows))
    say("")

    # The stream's throughput per shard.
    rows = []
    for scenario in ("interleaved", "grouped"):
        s = figures.stream(scenario)
        batch = s["batchSize"]
        for memory in (128, 512):
            seconds = max(s["meanBatchMs"], s["cpuMsPerRecord"] * batch * FULL_VCPU_MB
                          / min(memory, FULL_VCPU_MB)) / 1000
            rate = batch / seconds
            rows.append((s["label"], f"{s['meanBatchMs']:.0f} ms", f"{s['cpuMsPerRecord']:.3f} ms",
                         memory, f"{rate:.0f}", min(10, math.ceil(PARTITION_WRITE_UNITS / rate))))
    say(f"**The stream: records per second of one shard's batches** (batches of "
        f"{settings['streamBatchSize']}; a shard takes at most {PARTITION_WRITE_UNITS:,} writes "
        f"a second)")
    say("")
    say(table(["burst", "batch (bench)", "CPU per record (bench)", "memory (MB)",
               "records/s per concurrent batch on Lambda",
               f"ParallelizationFactor for {PARTITION_WRITE_UNITS:,} records/s per shard (at most 10)"],
              rows))
    say("")
    say("Prices: " + "; ".join(f"{what} ({url})" for what, url in PRICE_SOURCES) + ".")
    print("\n".join(out))


if __name__ == "__main__":
    main()
