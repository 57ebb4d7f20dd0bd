// `npm start` will run the server with the web client on the embedded SQLite store. The
// server is not built yet (issue "Server"); say so plainly rather than pretend.
console.error(
  'Ghostproof: the server does not exist yet. So far this repository holds the crypto back end ' +
    '(packages/crypto); run `npm test` to check it. `npm start` will start the server once it lands.',
);
process.exit(1);
