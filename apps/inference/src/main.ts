import { runService } from '@sepal/http';
import { startInferenceApp } from './bootstrap';

void runService('inference', () => startInferenceApp());
