//! Raw bytes as an AWS IoT shadow `update/documents` message through the shadow bridge: the
//! bridge must never panic, whatever a device (or anyone who can publish to its shadow)
//! reported, and what it writes must leave a device whose reportable state and pending
//! commands can still be read and settled.
//!
//! The bridge runs over an in-memory store holding the example account's front door lock,
//! routed through IoT (thing `front-door-lock`) with a deferred Lock waiting for it.
#![no_main]

use std::sync::LazyLock;

use alexa_smart_home::bridge::{Bridge, ShadowDocuments};
use alexa_smart_home::clock::Clock;
use alexa_smart_home::cloud::Adapter;
use alexa_smart_home::device::pending::PendingCommand;
use alexa_smart_home::device::properties::reportable;
use alexa_smart_home::device::{DeviceState, LockState};
use alexa_smart_home::store::DeviceStore;
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home_local::memory::MemoryStore;
use libfuzzer_sys::fuzz_target;

struct Harness {
    runtime: tokio::runtime::Runtime,
    bridge: Bridge<MemoryStore>,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let seed = Seed::from_json(include_str!("../../fixtures/example-account.json")).expect("seed");
    let store = MemoryStore::new();
    for mut d in seed.devices {
        if d.definition.endpoint_id == "front-door-lock" {
            d.definition.device_cloud = Some(Adapter::Iot);
            d.thing_name = Some("front-door-lock".into());
            d.pending = vec![PendingCommand {
                correlation_token: "fuzz".into(),
                command_id: "c1".into(),
                expect: DeviceState {
                    lock_state: Some(LockState::Locked),
                    ..DeviceState::default()
                },
                issued_at: 0,
                deadline: i64::MAX,
                shadow_version: Some(1),
                ..PendingCommand::default()
            }];
        }
        store.put_device(d);
    }
    Harness {
        runtime,
        bridge: Bridge::new(store),
    }
});

fuzz_target!(|data: &[u8]| {
    let harness = &*HARNESS;
    let Ok(documents) = serde_json::from_slice::<ShadowDocuments>(data) else {
        return;
    };
    let outcome = harness
        .runtime
        .block_on(harness.bridge.handle(&documents))
        .expect("the in-memory store does not fail");
    let device = harness
        .runtime
        .block_on(
            harness
                .bridge
                .store()
                .device(&"example-user".into(), &"front-door-lock".into()),
        )
        .expect("store")
        .expect("the lock is there");
    let now = Clock::system().now_ms();
    let _ = reportable(&device, now);
    for pending in &device.pending {
        let _ = pending.settle(&device, Some(now));
    }
    let _ = outcome;
});
