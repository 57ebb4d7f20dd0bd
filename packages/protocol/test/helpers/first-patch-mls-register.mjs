// `node --import` this file to run a process on ts-mls with only its earlier patch (see
// first-patch-mls-hooks.mjs).
import { register } from 'node:module';

register('./first-patch-mls-hooks.mjs', import.meta.url);
