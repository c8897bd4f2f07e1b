//! The resource every span of this process carries, and the two detectors
//! written here instead of taken from `opentelemetry-resource-detectors`:
//! its host detector forks `hostname` for `host.name` (a process start of
//! its own in every example's start-up), and its process detector would put
//! a `--token` value on the wire.

use std::env::consts::ARCH;

use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_resource_detectors::{OsResourceDetector, ProcessResourceDetector};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};
use opentelemetry_semantic_conventions::resource::{
    HOST_ARCH, HOST_ID, HOST_NAME, PROCESS_COMMAND_ARGS, PROCESS_EXECUTABLE_NAME,
};

use crate::config::{ExporterConfig, mask_userinfo};

/// Host, OS, process and SDK attributes from the detectors, then
/// `OTEL_RESOURCE_ATTRIBUTES`, then `service.name`.
pub(super) fn resource(config: &ExporterConfig) -> Resource {
    Resource::builder_empty()
        .with_detectors(&[
            Box::new(HostDetector),
            Box::new(OsResourceDetector),
            Box::new(RedactedProcessDetector),
            Box::new(TelemetryResourceDetector),
        ])
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .with_service_name(config.service_name.clone())
        .build()
}

/// `host.name` (from `uname`, no child process), `host.arch`, and on Linux
/// `host.id` (the machine id), as the community detector reports them.
#[derive(Debug)]
struct HostDetector;

impl ResourceDetector for HostDetector {
    fn detect(&self) -> Resource {
        let name = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .trim()
            .to_owned();
        let attributes = [
            machine_id().map(|id| KeyValue::new(HOST_ID, id)),
            Some(KeyValue::new(HOST_ARCH, ARCH)),
            (!name.is_empty()).then(|| KeyValue::new(HOST_NAME, name)),
        ];
        Resource::builder_empty()
            .with_attributes(attributes.into_iter().flatten())
            .build()
    }
}

fn machine_id() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

/// The community process detector, with the value of `--token` and URL
/// credentials masked in `process.command_args` (a secret on the command
/// line must not travel to the collector as a resource attribute), and
/// `process.executable.name`. Public for a program that builds its
/// resource by hand (examples-provider).
#[derive(Debug)]
pub struct RedactedProcessDetector;

impl ResourceDetector for RedactedProcessDetector {
    fn detect(&self) -> Resource {
        let detected = ProcessResourceDetector.detect();
        let attributes = detected.iter().map(|(key, value)| {
            if let (PROCESS_COMMAND_ARGS, Value::Array(Array::String(args))) = (key.as_str(), value)
            {
                let args = redact_args(args.iter().map(|a| a.as_str()));
                return KeyValue::new(
                    key.clone(),
                    Value::Array(Array::String(
                        args.into_iter().map(StringValue::from).collect(),
                    )),
                );
            }
            KeyValue::new(key.clone(), value.clone())
        });
        // Which program this is (`gproc`, `server`), whatever the arguments:
        // processes of one trace tell themselves apart by it.
        let executable = std::env::current_exe()
            .ok()
            .and_then(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
            .map(|name| KeyValue::new(PROCESS_EXECUTABLE_NAME, name));
        Resource::builder_empty()
            .with_attributes(attributes.chain(executable))
            .build()
    }
}

/// The command line with the value of `--token` and the credentials of any
/// URL masked.
fn redact_args<'a>(args: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut hide_next = false;
    for arg in args {
        if hide_next {
            out.push("[redacted]".to_owned());
            hide_next = false;
        } else if arg == "--token" {
            out.push(arg.to_owned());
            hide_next = true;
        } else if arg.starts_with("--token=") {
            out.push("--token=[redacted]".to_owned());
        } else {
            out.push(mask_userinfo(arg));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ExporterArgs, HttpExporterArgs};
    use opentelemetry_resource_detectors::HostResourceDetector;

    #[test]
    fn token_and_url_credentials_are_masked_in_command_args() {
        let args = [
            "bin",
            "--token",
            "abc",
            "--token=def",
            "--endpoint",
            "https://me:hunter2@h:1",
            "--path",
            "/x",
        ];
        assert_eq!(
            redact_args(args.into_iter()),
            [
                "bin",
                "--token",
                "[redacted]",
                "--token=[redacted]",
                "--endpoint",
                "https://[redacted]@h:1",
                "--path",
                "/x"
            ]
        );
    }

    #[test]
    fn resource_has_service_host_process_and_sdk_attributes() {
        let args = HttpExporterArgs {
            common: ExporterArgs {
                endpoint: None,
                token: None,
                service_name: Some("unit-test".into()),
                export_timeout: None,
            },
            path: None,
            logs_path: None,
        };
        let resource = resource(&args.resolve("default").unwrap());
        let keys: Vec<String> = resource.iter().map(|(k, _)| k.to_string()).collect();
        for key in [
            "service.name",
            "host.name",
            "host.arch",
            "os.type",
            "process.pid",
            "process.command_args",
            "process.executable.name",
            "telemetry.sdk.name",
            "telemetry.sdk.language",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
        }
        assert_eq!(
            resource
                .get(&opentelemetry::Key::new("service.name"))
                .map(|v| v.to_string()),
            Some("unit-test".to_owned())
        );
    }

    /// The same host attributes as the community detector (which runs the
    /// `hostname` program for the name), without the child process.
    #[test]
    fn host_attributes_equal_the_community_detectors() {
        let ours = HostDetector.detect();
        let theirs = HostResourceDetector::default().detect();
        let sorted = |resource: &Resource| {
            let mut pairs: Vec<(String, String)> = resource
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            pairs.sort();
            pairs
        };
        assert_eq!(sorted(&ours), sorted(&theirs));
    }
}
