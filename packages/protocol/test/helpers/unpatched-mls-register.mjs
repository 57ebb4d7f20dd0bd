// `node --import` this file to run a process on the unpatched ts-mls (see unpatched-mls-hooks.mjs).
import { register } from 'node:module';

register('./unpatched-mls-hooks.mjs', import.meta.url);
