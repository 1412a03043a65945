// A VDA 5050 vehicle the project did not write: the AgvController and VirtualAgvAdapter of
// the npm package vda-5050-lib, run as they are, on the broker and at the place given.
// The tests start it as a separate process; it logs to stderr and never reads stdin.
//
//   node vda5050_lib_vehicle.js --broker 127.0.0.1:1883 --manufacturer LangSonTwin \
//        --serial AGV-001 --map-id M --x 0 --y 0 --theta 0 --last-node VN \
//        --speed 6.1 --time-lapse 60
"use strict";

const { AgvController, VirtualAgvAdapter } = require("vda-5050-lib");

function options(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) {
      throw new Error(`arguments come in pairs --name value, not ${argv[i]}`);
    }
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

async function main() {
  const o = options(process.argv.slice(2));
  const number = (name, fallback) => (o[name] === undefined ? fallback : Number(o[name]));
  const controller = new AgvController(
    { manufacturer: o.manufacturer || "LangSonTwin", serialNumber: o.serial },
    {
      interfaceName: o.interface || "uagv",
      transport: { brokerUrl: `mqtt://${o.broker}` },
      vdaVersion: o.version || "2.0.0",
    },
    {
      agvAdapterType: VirtualAgvAdapter,
      publishStateInterval: number("state-period-ms", 1000),
      publishVisualizationInterval: 0,
    },
    {
      initialPosition: {
        mapId: o["map-id"] || "local",
        x: number("x", 0),
        y: number("y", 0),
        theta: number("theta", 0),
        lastNodeId: o["last-node"] || "0",
      },
      vehicleSpeed: number("speed", 2),
      timeLapse: number("time-lapse", 1),
      tickRate: number("tick-rate", 10),
      batteryMaxReach: number("battery-reach-m", 28800),
    },
  );
  await controller.start();
  // its factsheet, as the integrator of a vehicle sets it (the library publishes it on request;
  // the virtual adapter clears it when it attaches, at start)
  controller.updateFactsheet({
    headerId: 1,
    timestamp: new Date().toISOString(),
    version: o.version || "2.0.0",
    manufacturer: o.manufacturer || "LangSonTwin",
    serialNumber: o.serial,
    typeSpecification: {
      seriesName: "vda-5050-lib virtual AGV", agvKinematic: "OMNI", agvClass: "CARRIER",
      maxLoadMass: 32500, localizationTypes: ["NATURAL"], navigationTypes: ["AUTONOMOUS"],
    },
    physicalParameters: {
      speedMin: 0.1, speedMax: number("speed", 2), accelerationMax: 1, decelerationMax: 1,
      heightMin: 1, heightMax: 1.5, width: 2.5, length: 12.2,
    },
    protocolLimits: { maxStringLens: {}, maxArrayLens: {}, timing: { minOrderInterval: 0.5, minStateInterval: 0.1 } },
    protocolFeatures: {
      optionalParameters: [],
      agvActions: ["startPause", "stopPause", "startCharging", "stopCharging", "initPosition", "cancelOrder", "factsheetRequest", "pick", "drop"]
        .map((actionType) => ({ actionType, actionScopes: ["INSTANT"] })),
    },
    agvGeometry: {},
    loadSpecification: {},
  });
  process.stderr.write(`vda-5050-lib vehicle ${o.serial} online at ${o["last-node"]}\n`);
  const stop = async () => {
    await controller.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`vda-5050-lib vehicle failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
