// Loaded before s3rver (node --require): ends the server when the test process that started it is gone, however it
// ended. A test run that is killed, or that exits before its shutdown hooks run, then leaves no server behind.
'use strict';
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) {
    process.exit(0);
  }
}, 1000).unref();
